/**
 * Regression (issue #8, found by the reliability suite): a request with two Host headers
 * was routed by the first and forwarded with both, so a backend that reads the second
 * served a host the script never chose. RFC 9112 3.2: answer 400.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';

describe('a request with two Host headers gets 400', () => {
  let a: TestBackend, p: TestProxy;
  beforeAll(async () => { a = await startBackend('a'); p = await startProxy(luaBackends([a]) + 'function route() return "a" end\n'); });
  afterAll(async () => { await p.close(); await a.close(); });

  it('answers 400 and forwards nothing', async () => {
    const reply = await raw(p.port, 'GET / HTTP/1.1\r\nHost: app.example\r\nHost: admin.example\r\nConnection: close\r\n\r\n');
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(a.seen).toHaveLength(0);
  });
});
