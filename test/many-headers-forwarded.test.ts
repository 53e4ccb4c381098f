/**
 * Regression (issue #8, found by the reliability suite): Node's default maxHeadersCount
 * silently dropped every request header past the first 1000, so a header the backend
 * relies on could vanish. header_size (bytes) is the limit; the count is not.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';

describe('every request header within header_size reaches the backend', () => {
  let a: TestBackend, p: TestProxy;
  beforeAll(async () => {
    a = await startBackend('a');
    a.server.maxHeadersCount = 0; // the test backend must not drop any itself
    p = await startProxy(luaBackends([a]) + 'function route() return "a" end\n');
  });
  afterAll(async () => { await p.close(); await a.close(); });

  it('forwards 1200 small headers, the last one included', async () => {
    const many = Array.from({ length: 1200 }, (_, i) => `X-${i}: v\r\n`).join('');
    const reply = await raw(p.port, `GET / HTTP/1.1\r\nHost: x\r\n${many}Connection: close\r\n\r\n`);
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(a.seen[0].headers['x-1199']).toBe('v');
  });
});
