import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';

describe('one access log line per request', () => {
  let a: TestBackend | null = null;
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    await a?.close();
    p = null;
    a = null;
  });

  it('gives method, host, path, status, backend, duration, bytes and retries', async () => {
    a = await startBackend('a');
    p = await startProxy(luaBackends([{ name: 'alpha', url: a.url }]) + 'function route(h, p) if p == "/none" then return nil end return "alpha" end\n');
    expect((await get(p.url + '/big?bytes=1234', { host: 'Www.Example.com' })).status).toBe(200);
    expect((await get(p.url + '/none', { host: 'www.example.com' })).status).toBe(404);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && p.logs.filter((l) => l.msg === 'request').length < 2) await new Promise((r) => setTimeout(r, 20));
    const access = p.logs.filter((l) => l.msg === 'request');
    expect(access).toHaveLength(2);
    expect(access[0]).toMatchObject({ level: 30, method: 'GET', host: 'www.example.com', path: '/big', status: 200, backend: 'alpha', bytes: 1234, retries: 0, error: null });
    expect(access[0].ms).toBeGreaterThan(0);
    expect(access[0].upstream_ms).toBeGreaterThan(0);
    expect(access[1]).toMatchObject({ path: '/none', status: 404, backend: null, error: 'LPX_ROUTE_NONE' });
  });
});
