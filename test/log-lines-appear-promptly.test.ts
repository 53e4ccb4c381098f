/**
 * Regression (issue #8, found by the reliability suite): the JSON logger buffered up to
 * 4 KiB before writing, so a quiet proxy never showed its "listening" line, a reload or
 * an error until it exited. Lines must reach stdout within a second or so.
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../bin/luaproxy.js');

describe('log lines appear promptly on a quiet proxy', () => {
  it('prints the listening line while the process keeps running', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-log-'));
    const file = path.join(dir, 'config.lua');
    fs.writeFileSync(file, 'listen = "127.0.0.1:0"\nbackends = { "http://127.0.0.1:1" }\nfunction route() return nil end\n');
    const child = spawn(process.execPath, [BIN, 'run', file, '--json', '--no-watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const seen = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 5000);
        child.stdout!.on('data', (c) => {
          out += c;
          if (out.includes('luaproxy listening on')) { clearTimeout(t); resolve(true); }
        });
        child.once('exit', () => { clearTimeout(t); resolve(false); });
      });
      expect(seen).toBe(true);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
