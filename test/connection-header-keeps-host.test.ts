/**
 * Regression (issue #8, found by the reliability suite): `Connection: host` made the proxy
 * drop the Host header as hop-by-hop, so the backend saw its own address as Host for a
 * request routed by app.example. Host is end-to-end whatever Connection lists.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';

describe('Connection cannot remove the Host header', () => {
  let a: TestBackend, p: TestProxy;
  beforeAll(async () => { a = await startBackend('a'); p = await startProxy(luaBackends([a]) + 'function route() return "a" end\n'); });
  afterAll(async () => { await p.close(); await a.close(); });

  it('forwards the client Host even when Connection names it', async () => {
    await raw(p.port, 'GET / HTTP/1.1\r\nHost: app.example\r\nConnection: host, close\r\n\r\n');
    expect(a.seen[0].headers.host).toBe('app.example');
  });
});
