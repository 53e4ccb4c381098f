/**
 * Three instances of a fleet converge on a pushed version within a second, modules from
 * etcd included, and then route 10,000 sample hosts identically; real requests agree.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import path from 'node:path';
import { etcdMissing, type TestEtcd } from './helpers/etcd.js';
import type { TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { scriptDir, startInstance, cli, routeHosts, until, fleetSetup, fleetTeardown, type TestInstance } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('a fleet converges on a pushed version', () => {
  let etcd: TestEtcd;
  let bs: TestBackend[] = [];
  let fleet: TestInstance[] = [];
  const prefix = '/converge/';
  beforeAll(async () => ({ etcd, bs } = await fleetSetup(['a', 'b', 'c'])));
  afterAll(() => fleetTeardown(etcd, bs, fleet));

  it('three instances take the new version within 1 s and route 10,000 hosts identically', async () => {
    const v1 = scriptDir({ 'config.lua': `${luaBackends(bs)}function route(h, p) return proxy.hash(h) end\n` });
    const first = await cli('push', path.join(v1, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^published revision \d+: \/converge\/config\.lua; nothing published before to compare with/);

    fleet = await Promise.all([1, 2, 3].map((n) => startInstance(etcd.url, prefix, { id: `i${n}` })));
    const h1 = fleet[0].live.hash;
    for (const f of fleet) expect(f.live.hash).toBe(h1);

    // v2 routes through a module that only etcd holds
    const v2 = scriptDir({
      'config.lua': `${luaBackends(bs)}local pick = require "lib.pick"\nfunction route(h, p) return pick(h) end\n`,
      'lib/pick.lua': 'return function(h) return proxy.hash(h .. "#v2") end\n',
    });
    const pushed = await cli('push', path.join(v2, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(pushed.code).toBe(0);
    expect(pushed.out).toContain('/converge/lua/lib/pick.lua');
    const rev = Number(/published revision (\d+)/.exec(pushed.out)![1]);
    const took = await until(() => fleet.every((f) => f.live.revision === rev), 1000, 'all three instances on the pushed revision');
    expect(took).toBeLessThanOrEqual(1000);
    const h2 = fleet[0].live.hash;
    expect(h2).not.toBe(h1);
    for (const f of fleet) {
      expect(f.live.hash).toBe(h2);
      expect(f.running.reloader.last?.trigger).toBe('fleet');
      expect(f.running.reloader.last?.ok).toBe(true);
    }

    const routes = fleet.map((f) => routeHosts(f, 10_000));
    expect(new Set(routes[0])).toEqual(new Set(['a', 'b', 'c']));
    expect(routes[1]).toEqual(routes[0]);
    expect(routes[2]).toEqual(routes[0]);

    // and through the sockets, a sample of them
    for (let k = 0; k < 60; k++) {
      const answers = await Promise.all(fleet.map((f) => ask(f.port, { host: `s${k}.example.org` })));
      for (const x of answers) expect(x.backend).toBe(routes[0][k]);
    }

    // luaproxy status: every instance on etcd's version
    // (each instance rewrites its registration after the swap; give the writes a moment)
    let st = await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix);
    await until(async () => (st = await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix)).code === 0, 3000, 'luaproxy status to see every instance on the new version');
    expect(st.out).toContain(`revision ${rev}, hash ${h2}`);
    expect(st.out).toContain('every instance (3) serves the same version, the one etcd holds');
  });
});
