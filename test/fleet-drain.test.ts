/**
 * `luaproxy drain NAME --etcd` reaches every instance of the fleet through the drain/NAME
 * key they all watch: no instance sends new requests to the backend; `enable` undoes it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import path from 'node:path';
import { etcdMissing, type TestEtcd } from './helpers/etcd.js';
import type { TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { scriptDir, startInstance, cli, until, fleetSetup, fleetTeardown, type TestInstance } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('a fleet-wide drain', () => {
  let etcd: TestEtcd;
  let bs: TestBackend[] = [];
  let fleet: TestInstance[] = [];
  const prefix = '/drain/';
  beforeAll(async () => ({ etcd, bs } = await fleetSetup(['a', 'b', 'c'])));
  afterAll(() => fleetTeardown(etcd, bs, fleet));

  it('reaches all three instances, and enable undoes it', async () => {
    const dir = scriptDir({ 'config.lua': `${luaBackends(bs)}function route(h, p) return proxy.hash(h) end\n` });
    expect((await cli('push', path.join(dir, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    fleet = await Promise.all([1, 2, 3].map((n) => startInstance(etcd.url, prefix, { id: `i${n}` })));
    const drainedOn = (f: TestInstance) => f.running.config.backendSet.byName.get('b')!.drained;

    const d = await cli('drain', 'b', '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(d.code).toBe(0);
    expect(d.out).toContain('backend b drained on the whole fleet (/drain/drain/b)');
    await until(() => fleet.every(drainedOn), 2000, 'b drained on all three');
    for (const f of fleet) {
      for (let k = 0; k < 30; k++) expect((await ask(f.port, { host: `d${k}.example.com` })).backend).not.toBe('b');
    }
    // a new version keeps the fleet's drain
    const v2 = scriptDir({ 'config.lua': `${luaBackends(bs)}-- v2\nfunction route(h, p) return proxy.hash(h) end\n` });
    const pushed = await cli('push', path.join(v2, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix);
    const rev = Number(/published revision (\d+)/.exec(pushed.out)![1]);
    await until(() => fleet.every((f) => f.live.revision === rev), 2000, 'v2 on all three');
    expect(fleet.every(drainedOn)).toBe(true);

    expect((await cli('enable', 'b', '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    await until(() => fleet.every((f) => !drainedOn(f)), 2000, 'b enabled on all three');
    const seen = new Set<string | null>();
    for (let k = 0; k < 60; k++) seen.add((await ask(fleet[k % 3].port, { host: `d${k}.example.com` })).backend);
    expect(seen.has('b')).toBe(true);
  });
});
