/**
 * An uncaught error is logged (JSON, level fatal) before the process exits non-zero:
 * the proxy never dies quietly. Runs the built code in a child process (`npm test`
 * builds first; run `npm run build` before running this file alone).
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('uncaught errors are logged before the process exits', () => {
  it('writes a fatal JSON line with the error, then exits with status 70', async () => {
    expect(fs.existsSync(path.join(root, 'dist/app.js')), 'dist/ is missing: run npm run build').toBe(true);
    const code = `
      import { createLogger } from './dist/core/logger.js';
      import { installProcessHandlers } from './dist/wiring.js';
      const log = createLogger({ pretty: false });
      installProcessHandlers(log);
      log.info('up');
      setTimeout(() => { throw new Error('kaboom in a timer'); }, 10);
      setTimeout(() => log.info('still alive'), 2000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.resume();
    const status = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 15_000);
      child.on('exit', (c) => { clearTimeout(t); resolve(c); });
    });
    expect(status).toBe(70);
    const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    const fatal = lines.find((l) => l.level === 60);
    expect(fatal).toMatchObject({ msg: 'uncaught exception: kaboom in a timer', err: { message: 'kaboom in a timer' } });
    expect(fatal!.err.stack).toContain('kaboom in a timer');
    expect(lines.some((l) => l.msg === 'still alive')).toBe(false);
  });
});
