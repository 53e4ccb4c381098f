/**
 * Regression (issue #13): route's `headers = { ["x-forwarded-for"] = ... }` (or -host,
 * -proto) added a second copy next to the proxy's own. The script's value replaces the
 * proxy's, including what the client sent, so the backend gets exactly one; `false`
 * removes the header.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer, type WireMessage } from './helpers/wire.js';

const NAMES = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'];

describe('route\'s X-Forwarded-* headers replace the proxy\'s', () => {
  let be: RawServer, p: TestProxy;
  const seen: WireMessage[] = [];
  beforeAll(async () => {
    be = await startRawServer(async (w) => {
      try {
        for (;;) {
          seen.push(await w.request(20_000));
          w.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        }
      } catch { /* the connection closed */ }
    });
    p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + `health = { interval = 0 }
function route(host, path)
  if path == "/set" then
    return { backend = "b", headers = { ["X-Forwarded-For"] = "203.0.113.9", ["x-forwarded-host"] = "public.example", ["X-FORWARDED-PROTO"] = "https" } }
  end
  if path == "/remove" then
    return { backend = "b", headers = { ["x-forwarded-for"] = false, ["x-forwarded-host"] = false, ["x-forwarded-proto"] = false } }
  end
  return "b"
end
`);
  });
  afterAll(async () => { await p.close(); await be.close(); });

  /** one keep-alive connection, two requests on it; each request's X-Forwarded-* headers as the backend saw them */
  async function forwarded(path: string): Promise<Array<Record<string, string[]>>> {
    const before = seen.length;
    const w = await Wire.open(p.port);
    try {
      for (let i = 0; i < 2; i++) {
        w.write(`GET ${path} HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Host: spoofed.example\r\nX-Forwarded-Proto: gopher\r\n\r\n`);
        const r = await w.response();
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe('ok');
      }
    } finally {
      w.close();
    }
    expect(seen.length).toBe(before + 2);
    return seen.slice(before).map((q) => Object.fromEntries(NAMES.map((n) => [n, q.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v)])));
  }

  it('a value replaces the proxy\'s header: exactly one, the script\'s', async () => {
    for (const got of await forwarded('/set')) {
      expect(got).toEqual({ 'x-forwarded-for': ['203.0.113.9'], 'x-forwarded-host': ['public.example'], 'x-forwarded-proto': ['https'] });
    }
  });

  it('false removes it', async () => {
    for (const got of await forwarded('/remove')) {
      expect(got).toEqual({ 'x-forwarded-for': [], 'x-forwarded-host': [], 'x-forwarded-proto': [] });
    }
  });

  it('without an override the proxy sets its own (the client\'s X-Forwarded-For replaced: by default no peer is trusted)', async () => {
    for (const got of await forwarded('/plain')) {
      expect(got).toEqual({ 'x-forwarded-for': ['127.0.0.1'], 'x-forwarded-host': ['app.example'], 'x-forwarded-proto': ['http'] });
    }
  });
});
