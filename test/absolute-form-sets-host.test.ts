/**
 * Regression (issue #8, found by the reliability suite): an absolute-form request
 * (`GET http://other.example/ HTTP/1.1` with `Host: app.example`) was routed by
 * other.example but reached the backend with Host app.example. RFC 9112 3.2.2: the
 * target's authority replaces Host, so the backend sees the host it was routed by.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';

describe('an absolute-form target sets the Host the backend sees', () => {
  let a: TestBackend, p: TestProxy;
  beforeAll(async () => {
    a = await startBackend('a');
    p = await startProxy(luaBackends([a]) + 'function route(host) if host == "other.example" then return "a" end return nil end\n');
  });
  afterAll(async () => { await p.close(); await a.close(); });

  it('replaces the Host header with the target authority', async () => {
    const reply = await raw(p.port, 'GET http://other.example/x HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n');
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(a.seen[0].url).toBe('/x');
    expect(a.seen[0].rawHeaders.filter((_, i, r) => i % 2 === 0 && r[i].toLowerCase() === 'host').length).toBe(1);
    expect(a.seen[0].headers.host).toBe('other.example');
  });
});
