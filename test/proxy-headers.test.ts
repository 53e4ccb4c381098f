import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get, raw } from './helpers/http.js';

describe('headers on both legs', () => {
  let a: TestBackend, p: TestProxy;
  beforeAll(async () => {
    a = await startBackend('a', (req, res) => {
      if (req.url === '/cookies') {
        res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']);
        res.setHeader('X-Mixed-Case', 'yes');
        res.setHeader('Connection', 'keep-alive, X-Secret-Hop');
        res.setHeader('X-Secret-Hop', 'should not reach the client');
        res.setHeader('Keep-Alive', 'timeout=5');
        res.end('ok');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ raw: req.rawHeaders, url: req.url }));
    });
    p = await startProxy(luaBackends([a]) + `
function route(host, path)
  if path == "/rewrite/x" then return { backend = "a", path = "/x", headers = { ["X-Added"] = "1", ["x-remove-me"] = false } } end
  return "a"
end`);
  });
  afterAll(async () => { await p.close(); await a.close(); });

  it('strips hop-by-hop request headers, and those named in Connection', async () => {
    const reply = await raw(p.port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=9\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-Kept: 1\r\n\r\n', 1000);
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
    const names = (body.raw as string[]).filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).toContain('x-kept');
    for (const gone of ['x-private', 'keep-alive', 'proxy-connection', 'te']) expect(names).not.toContain(gone);
  });

  it('keeps duplicate request headers and their case', async () => {
    const reply = await raw(p.port, 'GET / HTTP/1.1\r\nHost: h\r\nX-Dup: one\r\nX-Dup: two\r\nX-CamelCase: v\r\nConnection: close\r\n\r\n', 1000);
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
    const pairs: string[] = body.raw;
    const dups = pairs.flatMap((v, i) => (i % 2 === 0 && v === 'X-Dup' ? [pairs[i + 1]] : []));
    expect(dups).toEqual(['one', 'two']);
    expect(pairs).toContain('X-CamelCase');
  });

  it('keeps every Set-Cookie line separate and strips hop-by-hop response headers', async () => {
    const r = await get(p.url + '/cookies', { host: 'h' });
    expect(r.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(r.rawHeaders).toContain('X-Mixed-Case');
    expect(r.headers['x-secret-hop']).toBeUndefined();
    expect(r.headers['keep-alive']).not.toBe('timeout=5');
  });

  it('applies header changes that route asks for', async () => {
    const r = await get(p.url + '/rewrite/x?q=1', { host: 'h', headers: { 'x-remove-me': 'bye' } });
    const body = JSON.parse(r.body.toString());
    expect(body.url).toBe('/x?q=1');
    const names = (body.raw as string[]).filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).toContain('x-added');
    expect(names).not.toContain('x-remove-me');
  });
});
