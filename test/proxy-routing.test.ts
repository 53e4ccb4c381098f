import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';

describe('routing real traffic by route(host, path)', () => {
  let a: TestBackend, b: TestBackend, c: TestBackend, p: TestProxy;
  beforeAll(async () => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    p = await startProxy(luaBackends([a, b, c]) + `
function route(host, path)
  local d = path:match("^/user/[^/]+/webapps/([^/]+)/reload$")
  if d then return proxy.hash(d:lower()) end
  if path == "/to-b" then return "b" end
  return proxy.hash(host)
end`);
  });
  afterAll(async () => { await p.close(); await Promise.all([a, b, c].map((x) => x.close())); });

  it('sends a host in any letter case, with a port or a trailing dot, to the same backend', async () => {
    const names = new Set<string>();
    for (const h of ['IronHand.example.com', 'ironhand.example.com', 'IRONHAND.EXAMPLE.COM:8080', 'ironhand.example.com.']) {
      const r = await get(p.url + '/', { host: h });
      expect(r.status).toBe(200);
      names.add(String(r.headers['x-backend']));
    }
    expect(names.size).toBe(1);
  });

  it('sends the reload URL to the backend of the domain inside the path', async () => {
    const direct = await get(p.url + '/', { host: 'ironhand.example.com' });
    const viaPath = await get(p.url + '/user/fred/webapps/IronHand.Example.com/reload', { host: 'www.example.com' });
    expect(viaPath.headers['x-backend']).toBe(direct.headers['x-backend']);
  });

  it('spreads different hosts over the backends', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(String((await get(p.url + '/', { host: `h${i}.example.com` })).headers['x-backend']));
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
  });

  it('passes the original Host header and sets X-Forwarded-For/-Proto/-Host', async () => {
    const r = await get(p.url + '/to-b?x=1', { host: 'Shop.Example.com:8080', headers: { 'x-forwarded-for': '10.1.2.3' } });
    const seen = JSON.parse(r.body.toString());
    expect(seen.backend).toBe('b');
    expect(seen.url).toBe('/to-b?x=1');
    expect(seen.headers.host).toBe('Shop.Example.com:8080');
    // the client's own X-Forwarded-For is replaced: by default no peer is trusted (forwarded.trust)
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('Shop.Example.com:8080');
  });

  it('streams a request body to the backend', async () => {
    const body = Buffer.alloc(3_000_000, 7);
    const r = await get(p.url + '/to-b', { method: 'POST', body, host: 'x' });
    expect(JSON.parse(r.body.toString()).bodyBytes).toBe(body.length);
  });
});
