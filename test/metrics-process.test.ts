import { describe, it, expect, afterEach } from 'vitest';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { ADMIN_ON_LOOPBACK, adminUrl, parseMetrics, value, has } from './helpers/admin.js';

describe('/metrics shows the process\' own vital signs in Prometheus text format', () => {
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
  });

  it('serves event-loop lag, memory, open handles and fds, each with HELP and TYPE', async () => {
    p = await startProxy(ADMIN_ON_LOOPBACK + 'function route(h, p) return nil end\n');
    await new Promise((r) => setTimeout(r, 50)); // let the delay monitor's timer start
    // block the event loop for 150 ms: the lag gauge must see it
    const until = Date.now() + 150;
    while (Date.now() < until) { /* busy */ }
    await new Promise((r) => setTimeout(r, 30));
    const r = await get(adminUrl(p) + '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = r.body.toString();
    const s = parseMetrics(text);
    const names = new Set(s.map((x) => x.name.replace(/_(bucket|sum|count)$/, '')));
    for (const n of names) {
      expect(text).toContain(`# HELP ${n} `);
      expect(text).toContain(`# TYPE ${n} `);
    }
    expect(value(s, 'luaproxy_event_loop_lag_seconds', { quantile: '1' })).toBeGreaterThanOrEqual(0.1);
    expect(value(s, 'luaproxy_memory_bytes', { kind: 'heap_used' })).toBeGreaterThan(0);
    expect(value(s, 'luaproxy_memory_bytes', { kind: 'rss' })).toBeGreaterThan(0);
    // the traffic and admin listeners are open handles of this process
    expect(value(s, 'luaproxy_open_handles', { type: 'TCPServerWrap' })).toBeGreaterThanOrEqual(2);
    expect(value(s, 'luaproxy_open_fds')).toBeGreaterThan(0);
    expect(has(s, 'luaproxy_build_info', { node: process.version })).toBe(true);
    expect(value(s, 'luaproxy_start_time_seconds')).toBeGreaterThan(0);
  });
});
