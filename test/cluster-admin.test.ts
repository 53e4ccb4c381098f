import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { parseMetrics, value, type Sample } from './helpers/admin.js';
import { startCluster, answeringPids, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';

const script = (backends: string, target: string) => `listen = "127.0.0.1:0"\n${backends}\nfunction route(host, path) return "${target}" end\n`;

describe('the admin listener of a cluster shows the whole cluster', () => {
  let a: TestBackend, b: TestBackend, c: ClusterProc, bs: string, admin: string;
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    bs = luaBackends([a, b]);
    c = await startCluster(script(bs, 'a'), 2, ['--no-watch', '--admin', '127.0.0.1:0']);
    const line = await c.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('admin listening'), 10_000);
    admin = `http://${String(line.admin)}`;
  });
  afterAll(async () => { await c?.close(); await Promise.all([a?.close(), b?.close()]); });

  async function scrape(): Promise<Sample[]> {
    const r = await get(`${admin}/metrics`);
    expect(r.status).toBe(200);
    return parseMetrics(r.body.toString());
  }
  async function status(): Promise<Record<string, any>> {
    const r = await get(`${admin}/status`);
    expect(r.status).toBe(200);
    return JSON.parse(r.body.toString()) as Record<string, any>;
  }
  async function send(n: number, prefix: string): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(String((await get(`http://127.0.0.1:${c.port}/${prefix}-${i}`, { host: `h${i}.example.com` })).headers['x-backend']));
    return seen;
  }
  async function pidsFor(prefix: string, n: number): Promise<Set<number>> {
    // access lines of workers reach the pipe a little later
    await c.waitFor(() => answeringPids(c.logs, `/${prefix}-`).size >= 2 || c.logs.filter((l) => l.msg === 'request' && String(l.path).startsWith(`/${prefix}-`)).length >= n, 5000).catch(() => null);
    return answeringPids(c.logs, `/${prefix}-`);
  }

  it('sums the request counters of every worker in /metrics', async () => {
    const before = value(await scrape(), 'luaproxy_requests_total', { backend: 'a' });
    const N = 16;
    expect(await send(N, 'm')).toEqual(new Set(['a']));
    // both workers served some of them, so one worker's registry alone would fall short
    expect((await pidsFor('m', N)).size).toBe(2);
    const after = await scrape();
    expect(value(after, 'luaproxy_requests_total', { backend: 'a' }) - before).toBeGreaterThanOrEqual(N);
    expect(value(after, 'luaproxy_cluster_workers')).toBe(2);
    expect(value(after, 'luaproxy_worker_up', { worker: '1' })).toBe(1);
    expect(value(after, 'luaproxy_worker_up', { worker: '2' })).toBe(1);
    expect(value(after, 'luaproxy_config_version')).toBe(1);
  });

  it('names both workers and every backend in /status', async () => {
    const s = await status();
    expect(s.cluster).toBe(true);
    expect(s.version).toBe(1);
    expect(s.workers.map((w: any) => w.id)).toEqual([1, 2]);
    expect(new Set(s.workers.map((w: any) => w.pid)).size).toBe(2);
    for (const w of s.workers) { expect(w.alive).toBe(true); expect(w.answered).toBe(true); expect(w.restarts).toBe(0); }
    expect(s.backends.map((x: any) => x.name)).toEqual(['a', 'b']);
    const ba = s.backends.find((x: any) => x.name === 'a');
    expect(ba.requests).toBeGreaterThanOrEqual(16);
    expect(ba.workers.map((w: any) => w.worker)).toEqual([1, 2]);
  });

  it('drains a backend in every worker through POST /backends/NAME/drain', async () => {
    const r = await get(`${admin}/backends/b/drain`, { method: 'POST' });
    expect(r.status).toBe(200);
    const s = await status();
    const bb = s.backends.find((x: any) => x.name === 'b');
    expect(bb.workers.map((w: any) => w.drained)).toEqual([true, true]);
    expect((await get(`${admin}/backends/b/enable`, { method: 'POST' })).status).toBe(200);
    const again = (await status()).backends.find((x: any) => x.name === 'b');
    expect(again.workers.map((w: any) => w.drained)).toEqual([false, false]);
  });

  it('reloads every worker through POST /reload, and refuses a broken script with 422', async () => {
    c.write(script(bs, 'b'));
    const r = await get(`${admin}/reload`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).ok).toBe(true);
    expect(await send(12, 'r')).toEqual(new Set(['b']));
    expect((await pidsFor('r', 12)).size).toBe(2);
    expect(value(await scrape(), 'luaproxy_config_version')).toBe(2);
    expect(value(await scrape(), 'luaproxy_reloads_total', { outcome: 'ok', trigger: 'admin' })).toBe(1);
    expect((await status()).version).toBe(2);

    c.write(script(bs, 'b') + 'function route(host, path) return "nope" end\n');
    const bad = await get(`${admin}/reload`, { method: 'POST' });
    expect(bad.status).toBe(422);
    expect(await send(6, 'x')).toEqual(new Set(['b']));
  });
});
