import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, deadPort, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { ADMIN_ON_LOOPBACK, post, status } from './helpers/admin.js';

describe('GET /status', () => {
  let a: TestBackend | null = null;
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    await a?.close();
    p = null;
    a = null;
  });

  it('names the live script, its backends with state and counters, the last reload error and recent errors', async () => {
    a = await startBackend('a');
    const dead = await deadPort();
    const script = ADMIN_ON_LOOPBACK + luaBackends([{ name: 'alpha', url: a.url }, { name: 'gone', url: `http://127.0.0.1:${dead}` }])
      + 'retries = { connect = 0 }\nfunction route(h, p) if p == "/dead" then return "gone" end return "alpha" end\n';
    p = await startProxy(script);
    for (let i = 0; i < 3; i++) expect((await get(p.url + '/', { host: 'x.example.com' })).status).toBe(200);
    expect((await get(p.url + '/dead', { host: 'y.example.com' })).status).toBe(502);
    p.write(script + 'function route(h, p) return "alpha" ) end\n');
    expect((await post(p, '/reload')).status).toBe(422);

    const s = await status(p);
    expect(s.version).toBe(1);
    expect(s.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(s.files.some((f: string) => f.endsWith('config.lua'))).toBe(true);
    expect(s.listen).toBe(`127.0.0.1:${p.port}`);
    const alpha = s.backends.find((b: { name: string }) => b.name === 'alpha');
    expect(alpha).toMatchObject({ url: a.url, status: 'up', inflight: 0, requests: 3, failures: 0 });
    const gone = s.backends.find((b: { name: string }) => b.name === 'gone');
    expect(gone.requests).toBe(1);
    expect(s.reload.last).toMatchObject({ ok: false, trigger: 'admin' });
    expect(s.reload.last_error.error).toMatch(/config\.lua:\d+/);
    expect(s.reload.history).toHaveLength(1);
    expect(s.recent_errors[0]).toMatchObject({ status: 502, code: 'LPX_UPSTREAM_REFUSED', host: 'y.example.com', path: '/dead', backend: 'gone' });
    expect(s.process.pid).toBe(process.pid);
    expect(s.process.heap_used_bytes).toBeGreaterThan(0);
    expect(typeof s.process.event_loop_lag_ms.p99).toBe('number');
    expect(s.traffic.errors_total).toBe(1);
  });
});
