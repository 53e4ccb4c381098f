/**
 * The guard in a fleet: a script that would send most hosts elsewhere is refused by
 * `luaproxy push` (figures over the sample hosts, nothing written) and, written straight
 * into etcd, by every instance (reload.fleet_max_moved on their recent traffic); `push
 * --force` publishes it and every instance lets it through.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { etcdMissing, type TestEtcd } from './helpers/etcd.js';
import type { TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { scriptDir, startInstance, cli, until, fleetSetup, fleetTeardown, type TestInstance } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('push --force and the fleet guard', () => {
  let etcd: TestEtcd;
  let bs: TestBackend[] = [];
  let fleet: TestInstance[] = [];
  const prefix = '/force/';
  beforeAll(async () => ({ etcd, bs } = await fleetSetup(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])));
  afterAll(() => fleetTeardown(etcd, bs, fleet));

  it('refuses a mass move at push and on every instance; --force takes it live everywhere', async () => {
    const script = (key: string) => `${luaBackends(bs)}function route(h, p) return proxy.hash(${key}) end\n`;
    expect((await cli('push', path.join(scriptDir({ 'config.lua': script('h') }), 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    fleet = await Promise.all([1, 2].map((n) => startInstance(etcd.url, prefix, { id: `i${n}` })));
    for (const f of fleet) for (let k = 0; k < 40; k++) await ask(f.port, { host: `m${k}.example.com` });
    const first = fleet[0].live.revision;

    // hashing on another key moves about 7/8 of the hosts among 8 backends
    const moved = path.join(scriptDir({ 'config.lua': script('h .. "/2"') }), 'config.lua');
    const refused = await cli('push', moved, '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/reload\.fleet_max_moved tripped: the new version would move \d+ of 10000 recent hosts to another destination \(8\d\.\d%; the limit is 75%\); .*luaproxy push --force/);
    expect(refused.err).toContain('nothing was published');

    // written around push: every instance refuses it on its own traffic
    const client = new Etcd3({ hosts: etcd.url });
    try {
      await client.put(`${prefix}config.lua`).value(script('h .. "/3"'));
    } finally {
      client.close();
    }
    await until(() => fleet.every((f) => f.running.reloader.counts.refused === 1), 3000, 'both instances to refuse');
    for (const f of fleet) {
      expect(f.running.reloader.last!.code).toBe('LPX_RELOAD_GUARD');
      expect(f.running.reloader.last!.error).toMatch(/^reload\.fleet_max_moved tripped: the new version would move \d+ of 40 recent hosts/);
      expect(f.live.revision).toBe(first);
    }

    const forced = await cli('push', moved, '--etcd', etcd.url, '--etcd-prefix', prefix, '--force');
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('(forced past the guard)');
    const rev = Number(/published revision (\d+)/.exec(forced.out)![1]);
    await until(() => fleet.every((f) => f.live.revision === rev), 3000, 'the forced version on both instances');
    for (const f of fleet) {
      expect(f.running.reloader.last!.ok).toBe(true);
      expect(f.running.reloader.last!.forced).toBe(true);
      expect(f.running.reloader.last!.moved!).toBeGreaterThan(0.75);
    }
  });
});
