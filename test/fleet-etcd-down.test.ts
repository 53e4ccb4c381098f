/**
 * etcd goes away: every instance serves on with its version, /status and the metric say
 * how stale it is; an instance restarted meanwhile starts from its local cache (and says
 * so); with no cache and no etcd an instance refuses to start with a clear message. etcd
 * comes back: a new push converges on all three.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { etcdMissing, type TestEtcd } from './helpers/etcd.js';
import type { TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { scriptDir, startInstance, cli, routeHosts, until, getBody as get, fleetSetup, fleetTeardown, type TestInstance } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('etcd goes away and comes back', () => {
  let etcd: TestEtcd;
  let bs: TestBackend[] = [];
  let fleet: TestInstance[] = [];
  const prefix = '/outage/';
  beforeAll(async () => ({ etcd, bs } = await fleetSetup(['a', 'b', 'c'])));
  afterAll(() => fleetTeardown(etcd, bs, fleet));

  it('serves on, restarts from the cache, and converges on a new push once etcd is back', async () => {
    const dir = scriptDir({ 'config.lua': `${luaBackends(bs)}function route(h, p) return proxy.hash(h) end\n` });
    expect((await cli('push', path.join(dir, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    fleet = await Promise.all([1, 2, 3].map((n) => startInstance(etcd.url, prefix, { id: `i${n}`, admin: true })));
    const v1 = fleet[0].live;
    const before = routeHosts(fleet[0], 200);

    await etcd.stop();
    await until(() => fleet.every((f) => !f.source.connected), 5000, 'every instance to see etcd gone');
    for (const f of fleet) {
      for (let k = 0; k < 20; k++) expect((await ask(f.port, { host: `s${k}.example.org` })).backend).toBe(before[k]);
    }
    await until(() => fleet[0].source.staleSeconds() >= 0.3, 3000, 'staleness to grow');
    const adminPort = fleet[0].running.admin!.address!.port;
    const status = JSON.parse(await get(adminPort, '/status')) as { fleet: { connected: boolean; stale_s: number; view: unknown; view_error: string } };
    expect(status.fleet.connected).toBe(false);
    expect(status.fleet.stale_s).toBeGreaterThan(0);
    expect(status.fleet.view).toBeNull();
    const metrics = await get(adminPort, '/metrics');
    expect(metrics).toMatch(/^luaproxy_fleet_connected 0$/m);
    expect(Number(/^luaproxy_fleet_stale_seconds ([\d.]+)$/m.exec(metrics)![1])).toBeGreaterThan(0);

    // an instance restarted while etcd is down starts from its cache, loudly
    const cache3 = fleet[2].cache;
    await fleet[2].stop(1000);
    fleet[2] = await startInstance(etcd.url, prefix, { id: 'i3', cache: cache3 });
    expect(fleet[2].live.hash).toBe(v1.hash);
    expect(fleet[2].logs.some((l) => l.level === 50 && String(l.msg).startsWith('STARTING FROM THE LOCAL CACHE: etcd at'))).toBe(true);
    for (let k = 0; k < 20; k++) expect((await ask(fleet[2].port, { host: `s${k}.example.org` })).backend).toBe(before[k]);

    // no cache and no etcd: a clear refusal to start
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-fleet-nocache-'));
    await expect(startInstance(etcd.url, prefix, { cache: empty })).rejects.toThrow(/is unreachable, and .* holds no cached version to start from/);

    // etcd back: a new push converges everywhere (reconnecting takes a backoff)
    await etcd.start();
    const v2 = scriptDir({ 'config.lua': `${luaBackends(bs)}function route(h, p) if p == "/v2" then return { status = 200, body = "v2" } end return proxy.hash(h) end\n` });
    let pushed = { code: 1, out: '', err: '' };
    await until(async () => (pushed = await cli('push', path.join(v2, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code === 0, 15_000, 'a push to succeed after etcd is back');
    const rev = Number(/published revision (\d+)/.exec(pushed.out)![1]);
    await until(() => fleet.every((f) => f.live.revision === rev), 30_000, 'all three on the new push');
    for (const f of fleet) expect(f.source.connected).toBe(true);
    expect(fleet[2].running.reloader.last?.ok).toBe(true);
    for (const f of fleet) expect((await ask(f.port, { host: 'x.example.org', path: '/v2' })).body).toBe('v2');
    const after = fleet.map((f) => routeHosts(f, 2000));
    expect(after[1]).toEqual(after[0]);
    expect(after[2]).toEqual(after[0]);
  }, 90_000);
});
