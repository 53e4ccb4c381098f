/**
 * Regression (issue #13): an HTTP/1.0 request without Host, on a route that sets `host`,
 * reached the backend with two Host headers (the proxy's empty one and the script's). The
 * backend gets exactly one Host whatever the request and the route say: the script's
 * value when it sets one, an empty one for `host = false` (HTTP/1.1 requires a Host), and
 * one even when the script names it twice in two letter cases.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer, type WireMessage } from './helpers/wire.js';

describe('the backend gets exactly one Host when route sets it', () => {
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
  if path == "/set" then return { backend = "b", headers = { host = "set.example" } } end
  if path == "/unset" then return { backend = "b", headers = { host = false } } end
  if path == "/twice" then return { backend = "b", headers = { Host = "one.example", host = "two.example" } } end
  return "b"
end
`);
  });
  afterAll(async () => { await p.close(); await be.close(); });

  /** send one request on its own connection; the Host headers the backend received */
  async function hosts(request: string): Promise<string[]> {
    const before = seen.length;
    const w = await Wire.open(p.port);
    try {
      w.write(request);
      const r = await w.response();
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('ok');
    } finally {
      w.close();
    }
    expect(seen.length).toBe(before + 1);
    return seen[before].headers.filter(([k]) => k.toLowerCase() === 'host').map(([, v]) => v);
  }

  it('HTTP/1.0 without Host, route sets host: one Host, the script\'s', async () => {
    expect(await hosts('GET /set HTTP/1.0\r\n\r\n')).toEqual(['set.example']);
  });

  it('HTTP/1.0 without Host, route removes host: one empty Host', async () => {
    expect(await hosts('GET /unset HTTP/1.0\r\n\r\n')).toEqual(['']);
  });

  it('HTTP/1.1 with Host: the script\'s value replaces it, and false leaves one empty Host', async () => {
    expect(await hosts('GET /set HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n')).toEqual(['set.example']);
    expect(await hosts('GET /unset HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n')).toEqual(['']);
    expect(await hosts('GET http://other.example/set HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n')).toEqual(['set.example']);
  });

  it('host named twice in two letter cases: still one Host', async () => {
    const got = await hosts('GET /twice HTTP/1.0\r\n\r\n');
    expect(got).toHaveLength(1);
    expect(['one.example', 'two.example']).toContain(got[0]);
  });

  it('a route that leaves Host alone still forwards the client\'s, or an empty one for HTTP/1.0', async () => {
    expect(await hosts('GET /plain HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n')).toEqual(['app.example']);
    expect(await hosts('GET /plain HTTP/1.0\r\n\r\n')).toEqual(['']);
  });
});
