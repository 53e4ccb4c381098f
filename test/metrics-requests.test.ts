import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, deadPort, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { ADMIN_ON_LOOPBACK, scrape, value } from './helpers/admin.js';

describe('/metrics request counters move under real requests and failures', () => {
  let a: TestBackend | null = null;
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    await a?.close();
    p = null;
    a = null;
  });

  it('counts requests by backend, method and status class, with latency histograms, failures and retries', async () => {
    a = await startBackend('a');
    const dead = await deadPort();
    p = await startProxy(ADMIN_ON_LOOPBACK + luaBackends([{ name: 'alpha', url: a.url }, { name: 'gone', url: `http://127.0.0.1:${dead}` }]) + `
retries = { connect = 1 }
function route(h, p)
  if p == "/none" then return nil end
  if p == "/gone" then return "gone" end
  if p == "/direct" then return { status = 403, body = "no" } end
  return "alpha"
end
`);
    const before = await scrape(p);
    for (let i = 0; i < 25; i++) expect((await get(p.url + '/', { host: 'm.example.com' })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await get(p.url + '/post', { host: 'm.example.com', method: 'POST', body: 'x' })).status).toBe(200);
    expect((await get(p.url + '/status/503', { host: 'm.example.com' })).status).toBe(503);
    expect((await get(p.url + '/none', { host: 'm.example.com' })).status).toBe(404);
    expect((await get(p.url + '/direct', { host: 'm.example.com' })).status).toBe(403);
    // "gone" refuses; the connect retry goes to alpha
    expect((await get(p.url + '/gone', { host: 'm.example.com' })).status).toBe(200);
    const after = await scrape(p);
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

    expect(delta('luaproxy_requests_total', { backend: 'alpha', method: 'GET', status: '2xx' })).toBe(26);
    expect(delta('luaproxy_requests_total', { backend: 'alpha', method: 'POST', status: '2xx' })).toBe(3);
    expect(delta('luaproxy_requests_total', { backend: 'alpha', method: 'GET', status: '5xx' })).toBe(1);
    expect(delta('luaproxy_requests_total', { backend: '(none)', method: 'GET', status: '4xx' })).toBe(2);
    expect(delta('luaproxy_requests_total')).toBe(32);
    expect(delta('luaproxy_request_duration_seconds_count', { backend: 'alpha' })).toBe(30);
    expect(delta('luaproxy_request_duration_seconds_bucket', { backend: 'alpha', le: '+Inf' })).toBe(30);
    expect(delta('luaproxy_upstream_duration_seconds_count', { backend: 'alpha' })).toBe(30);
    expect(delta('luaproxy_request_duration_seconds_sum', { backend: 'alpha' })).toBeGreaterThan(0);
    expect(delta('luaproxy_backend_failures_total', { backend: 'gone', code: 'LPX_UPSTREAM_REFUSED' })).toBe(1);
    expect(delta('luaproxy_backend_failures_total', { backend: 'alpha', code: 'LPX_UPSTREAM_PROTOCOL' })).toBe(1);
    expect(delta('luaproxy_backend_retries_total', { backend: 'gone' })).toBe(1);
    expect(delta('luaproxy_client_connections_opened_total')).toBe(32);
  });
});
