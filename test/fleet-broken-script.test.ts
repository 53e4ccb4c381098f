/**
 * A broken script written straight into etcd (around `luaproxy push`, which would refuse
 * it) is refused by every instance: each keeps serving the version it had, counts and
 * shows the refusal, and `luaproxy status` shows it and says the fleet is not on etcd's
 * version.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { etcdMissing, type TestEtcd } from './helpers/etcd.js';
import type { TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { scriptDir, startInstance, cli, until, getBody as get, fleetSetup, fleetTeardown, type TestInstance } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('a broken script written into etcd', () => {
  let etcd: TestEtcd;
  let bs: TestBackend[] = [];
  let fleet: TestInstance[] = [];
  const prefix = '/broken/';
  beforeAll(async () => ({ etcd, bs } = await fleetSetup(['a', 'b'])));
  afterAll(() => fleetTeardown(etcd, bs, fleet));

  it('is refused by every instance; all keep serving, and luaproxy status shows the refusal', async () => {
    const dir = scriptDir({ 'config.lua': `${luaBackends(bs)}function route(h, p) return proxy.hash(h) end\n` });
    expect((await cli('push', path.join(dir, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    fleet = await Promise.all([1, 2, 3].map((n) => startInstance(etcd.url, prefix, { id: `i${n}`, admin: true })));
    const before = await Promise.all(fleet.map((f) => ask(f.port, { host: 'shop.example.com' })));
    const good = fleet[0].live;

    const client = new Etcd3({ hosts: etcd.url });
    try {
      await client.put(`${prefix}config.lua`).value(`${luaBackends(bs)}function route(h, p)\n  return proxy.hash(h\nend\n`);
    } finally {
      client.close();
    }
    await until(() => fleet.every((f) => f.running.reloader.counts.refused === 1), 3000, 'every instance to refuse the broken script');
    for (const f of fleet) {
      const r = f.running.reloader.last!;
      expect(r.ok).toBe(false);
      expect(r.trigger).toBe('fleet');
      expect(r.code).toBe('LPX_CONFIG_SYNTAX');
      expect(r.error).toMatch(/config\.lua:7: '\)' expected/);
      expect(f.live.hash).toBe(good.hash);
    }
    // every instance serves on, as before
    const after = await Promise.all(fleet.map((f) => ask(f.port, { host: 'shop.example.com' })));
    expect(after.map((x) => [x.status, x.backend])).toEqual(before.map((x) => [x.status, x.backend]));

    // counted, and shown in /status
    const metrics = await get(fleet[0].running.admin!.address!.port, '/metrics');
    expect(metrics).toMatch(/luaproxy_reloads_total\{outcome="refused",trigger="fleet"\} 1/);
    const status = JSON.parse(await get(fleet[0].running.admin!.address!.port, '/status')) as { fleet: { last_refusal: { code: string }; hash: string; view: { converged: boolean } } };
    expect(status.fleet.last_refusal.code).toBe('LPX_CONFIG_SYNTAX');
    expect(status.fleet.hash).toBe(good.hash);

    let st = await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix);
    await until(async () => ((st = await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix)).out.match(/LPX_CONFIG_SYNTAX/g) ?? []).length === 3, 3000, 'the three refusals in luaproxy status');
    expect(st.code).toBe(1);
    expect(st.out).toContain('every instance (3) serves the same version, but not the one etcd holds');
    expect(st.out).toMatch(/i1 .* LPX_CONFIG_SYNTAX .*config\.lua:7:/);
  });

  it('refuses a backend list that is not JSON, and push --backends repairs it', async () => {
    // the good script back first
    const dir = scriptDir({ 'config.lua': `${luaBackends(bs)}function route(h, p) return proxy.hash(h) end\n` });
    expect((await cli('push', path.join(dir, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    const good = fleet[0].live;
    const refusedBefore = fleet.map((f) => f.running.reloader.counts.refused);
    const client = new Etcd3({ hosts: etcd.url });
    try {
      await client.put(`${prefix}backends`).value('[{ "name": "a", "url": ');
    } finally {
      client.close();
    }
    await until(() => fleet.every((f, i) => f.running.reloader.counts.refused > refusedBefore[i]), 3000, 'every instance to refuse the backend list');
    for (const f of fleet) {
      expect(f.running.reloader.last!.error).toMatch(/^\/broken\/backends: expected a JSON list like .*got text that is not JSON/);
      expect(f.live.hash).toBe(good.hash);
    }
    const list = path.join(scriptDir({}), 'backends.json');
    fs.writeFileSync(list, JSON.stringify(bs.map((b) => ({ name: b.name, url: b.url }))));
    const repaired = await cli('push', '--backends', list, '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(repaired.code).toBe(0);
    const rev = Number(/published revision (\d+)/.exec(repaired.out)![1]);
    await until(() => fleet.every((f) => f.live.revision === rev), 3000, 'the repaired list on every instance');
  });
});
