/**
 * Changes that arrive in a burst are coalesced: five versions written at once straight
 * into etcd end with every instance on the newest (the last in etcd's order), through
 * fewer reloads than writes.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { etcdMissing, type TestEtcd } from './helpers/etcd.js';
import type { TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { scriptDir, startInstance, cli, until, fleetSetup, fleetTeardown, type TestInstance } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('a burst of changes in etcd', () => {
  let etcd: TestEtcd;
  let bs: TestBackend[] = [];
  let fleet: TestInstance[] = [];
  const prefix = '/burst/';
  beforeAll(async () => ({ etcd, bs } = await fleetSetup(['a', 'b'])));
  afterAll(() => fleetTeardown(etcd, bs, fleet));

  it('is coalesced, and the newest version wins on every instance', async () => {
    const script = (n: number) => `${luaBackends(bs)}function route(h, p) if p == "/v" then return { status = 200, body = "${n}" } end return proxy.hash(h) end\n`;
    expect((await cli('push', path.join(scriptDir({ 'config.lua': script(0) }), 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    fleet = await Promise.all([1, 2, 3].map((n) => startInstance(etcd.url, prefix, { id: `i${n}` })));
    const client = new Etcd3({ hosts: etcd.url });
    let winner = '';
    let last = 0;
    try {
      // five writes at once: etcd orders them, and the watch delivers them in that order
      const revs = await Promise.all([1, 2, 3, 4, 5].map((n) => client.put(`${prefix}config.lua`).value(script(n)).exec()));
      last = Math.max(...revs.map((r) => Number(r.header.revision)));
      const newest = await client.get(`${prefix}config.lua`).string();
      expect(newest).toMatch(/body = "\d"/);
      winner = /body = "(\d)"/.exec(newest!)![1];
    } finally {
      client.close();
    }
    await until(() => fleet.every((f) => f.live.revision === last), 3000, 'every instance on the newest write');
    for (const f of fleet) {
      expect((await ask(f.port, { path: '/v' })).body).toBe(winner);
      expect(f.running.reloader.counts.refused).toBe(0);
      expect(f.running.reloader.counts.ok).toBeLessThanOrEqual(5);
    }
    // writes that arrived while a reload ran were taken as one: fewer reloads than writes in all
    expect(fleet.reduce((n, f) => n + f.running.reloader.counts.ok, 0)).toBeLessThan(15);
  });
});
