/**
 * The one line of script that used to freeze the whole proxy (an xpcall whose message
 * handler loops) now costs one request a 500 within its budget, while every other
 * client is served; `luaproxy route` returns too.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';

const ROUTE = `
function route(host, path)
  if path == "/spin" then
    xpcall(function() while true do end end, function() while true do end end)
  end
  return "app"
end`;

describe('a route whose xpcall handler loops forever', () => {
  let app: TestBackend, p: TestProxy;
  beforeAll(async () => {
    app = await startBackend('app');
    p = await startProxy(luaBackends([{ name: 'app', url: app.url }]) + ROUTE);
  });
  afterAll(async () => { await p.close(); await app.close(); });

  it('answers that request 500 within its budget, and serves everyone else meanwhile', async () => {
    const t0 = performance.now();
    const [spin, ...others] = await Promise.all([
      get(p.url + '/spin', { host: 'a.example', timeoutMs: 5000 }),
      ...Array.from({ length: 20 }, () => get(p.url + '/ok', { host: 'a.example', timeoutMs: 5000 })),
    ]);
    expect(spin.status).toBe(500);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(others.map((r) => r.status)).toEqual(others.map(() => 200));
    const line = p.logs.find((l) => /script exceeded its/.test(JSON.stringify(l)));
    const xpcallLine = fs.readFileSync(p.file, 'utf8').split('\n').findIndex((l) => l.includes('xpcall')) + 1;
    expect(String(line?.detail)).toMatch(new RegExp(`config\\.lua:${xpcallLine}: script exceeded its`));
    expect((await get(p.url + '/spin-free', { host: 'a.example' })).status).toBe(200);
  });

  it('lets `luaproxy route` return with the error and its line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-spin-'));
    const file = path.join(dir, 'config.lua');
    fs.writeFileSync(file, 'backends = { { name = "app", url = "http://127.0.0.1:9" } }' + ROUTE);
    const bin = path.resolve(import.meta.dirname, '../bin/luaproxy.js');
    const out = spawnSync(process.execPath, [bin, 'route', file, 'a.example', '/spin'], { encoding: 'utf8', timeout: 20_000 });
    expect(out.error).toBeUndefined();
    expect(out.status).not.toBe(0);
    expect(out.stdout + out.stderr).toMatch(/config\.lua:4: script exceeded its/);
  });
});
