import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { start } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { Writable } from 'node:stream';

const failing = `listen = "127.0.0.1:0"
backends = { { name = "a", url = "http://127.0.0.1:9" }, { name = "b", url = "http://127.0.0.1:9" } }
function route(h, p) return "a" end
tests = {
  { "x.example.com", "/", "b" },
}
`;

describe('a script whose own tests fail does not go live anywhere', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-own-'));
  const file = path.join(dir, 'config.lua');
  fs.writeFileSync(file, failing);

  it('start() (one process) refuses it, as a reload and --workers do', async () => {
    const log = createLogger({ level: 'silent', destination: new Writable({ write(_c, _e, cb) { cb(); } }) });
    await expect(start({ file, log, watch: false })).rejects.toMatchObject({ code: 'LPX_RELOAD_REFUSED', message: expect.stringMatching(/config\.lua:5: own test failed: route\("x\.example\.com", "\/"\): expected backend "b", got backend "a"/) });
  });

  it('`luaproxy check` refuses it with the same message', () => {
    const bin = path.resolve(import.meta.dirname, '../bin/luaproxy.js');
    const r = spawnSync(process.execPath, [bin, 'check', file], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/config\.lua:5: own test failed: route\("x\.example\.com", "\/"\): expected backend "b", got backend "a"/);
  });
});
