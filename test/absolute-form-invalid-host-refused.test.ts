/**
 * Regression (issue #13, found by outside conformance suites): an absolute-form request
 * (`GET http://a.example/ HTTP/1.1`) routes by the target's authority, which replaces the
 * Host header, so an invalid Host header (spaces, tabs) was never checked and the request
 * was forwarded. It gets 400, as the same Host without the absolute form does.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer } from './helpers/wire.js';

describe('an absolute-form request with an invalid Host header is refused', () => {
  let be: RawServer, p: TestProxy;
  let requests = 0;
  beforeAll(async () => {
    be = await startRawServer(async (w) => {
      try {
        for (;;) {
          await w.request(20_000);
          requests++;
          w.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        }
      } catch { /* the connection closed */ }
    });
    p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'health = { interval = 0 }\nfunction route() return "b" end\n');
  });
  afterAll(async () => { await p.close(); await be.close(); });

  async function status(target: string, host: string): Promise<number> {
    const w = await Wire.open(p.port);
    try {
      w.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      return (await w.response()).status;
    } finally {
      w.close();
    }
  }

  for (const host of ['a b.example', 'a\tb.example', 'a.example x', 'a.example:80:80', 'a/b']) {
    it(`Host ${JSON.stringify(host)}: 400 with and without the absolute form`, async () => {
      const before = requests;
      expect(await status('/', host)).toBe(400);
      expect(await status('http://a.example/', host)).toBe(400);
      expect(requests).toBe(before);
    });
  }

  it('a valid Host with the absolute form is still forwarded', async () => {
    expect(await status('http://a.example/', 'other.example')).toBe(200);
    expect(await status('http://a.example/', 'other.example:8080')).toBe(200);
  });
});
