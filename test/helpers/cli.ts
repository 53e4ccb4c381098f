/** Runs the luaproxy CLI in this process (a proxy under test here keeps serving, since the CLI's calls are asynchronous). */
import { vi } from 'vitest';
import { main } from '../../src/cli.js';

/** run `luaproxy ...args`; what it printed and its exit code */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => { out += String(c); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => { err += String(c); return true; });
  process.exitCode = 0;
  try {
    await main(['node', 'luaproxy', ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, out, err };
}
