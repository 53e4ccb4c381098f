import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ADMIN_ON_LOOPBACK, scrape, value, has, post } from './helpers/admin.js';

describe('/metrics shows each backend\'s state: up/down/drained, in flight, queue, ejections', () => {
  const backends: TestBackend[] = [];
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });

  it('reads the live state of every backend at scrape time', async () => {
    const [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    backends.push(a, b);
    p = await startProxy(ADMIN_ON_LOOPBACK + luaBackends([a, b]) + 'function route(h, p) return h:match("^b") and "b" or "a" end\n');
    let s = await scrape(p);
    for (const name of ['a', 'b']) {
      expect(value(s, 'luaproxy_backend_up', { backend: name })).toBe(1);
      expect(value(s, 'luaproxy_backend_drained', { backend: name })).toBe(0);
      expect(value(s, 'luaproxy_backend_inflight', { backend: name })).toBe(0);
      expect(has(s, 'luaproxy_backend_queued', { backend: name })).toBe(true);
    }
    expect(value(s, 'luaproxy_backends')).toBe(2);

    // a request that the backend never answers stays in flight
    const stalled = http.get({ host: '127.0.0.1', port: p.port, path: '/stall', headers: { host: 'a.example.com' }, agent: false });
    stalled.on('error', () => {});
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && value(s = await scrape(p), 'luaproxy_backend_inflight', { backend: 'a' }) !== 1) await new Promise((r) => setTimeout(r, 20));
    expect(value(s, 'luaproxy_backend_inflight', { backend: 'a' })).toBe(1);
    expect(value(s, 'luaproxy_requests_in_flight')).toBe(1);
    expect(value(s, 'luaproxy_client_connections')).toBe(1);
    stalled.destroy();

    expect((await post(p, '/backends/b/drain')).status).toBe(200);
    s = await scrape(p);
    expect(value(s, 'luaproxy_backend_up', { backend: 'b' })).toBe(0);
    expect(value(s, 'luaproxy_backend_drained', { backend: 'b' })).toBe(1);

    // what passive health does when a backend keeps failing
    p.running.config.backendSet.byName.get('a')!.eject(Date.now() + 60_000);
    s = await scrape(p);
    expect(value(s, 'luaproxy_backend_up', { backend: 'a' })).toBe(0);
    expect(value(s, 'luaproxy_backend_ejected', { backend: 'a' })).toBe(1);
    expect(value(s, 'luaproxy_backend_ejections_total', { backend: 'a' })).toBe(1);
    s = await scrape(p);
    expect(value(s, 'luaproxy_backend_ejections_total', { backend: 'a' })).toBe(1);
  });
});
