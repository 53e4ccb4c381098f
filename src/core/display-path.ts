/** How luaproxy names a file in messages, logs and the status API. */
import path from 'node:path';

/** relative to the working folder when inside it, absolute otherwise */
export function displayPath(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}
