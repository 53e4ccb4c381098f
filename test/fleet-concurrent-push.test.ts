/**
 * Two operators push at once: both read the same revision, both pass their checks, one
 * transaction wins and the other fails with LPX_FLEET_CONFLICT naming the revision it
 * read and the one that beat it. Nothing of the loser is written.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcd, etcdMissing, type TestEtcd } from './helpers/etcd.js';
import { scriptDir, cli } from './helpers/fleet.js';
import { commitPlan, planScript, planBackends } from '../src/fleet/publish.js';

const script = (tag: string) => `backends = { { name = "a", url = "http://127.0.0.1:9001" }, { name = "b", url = "http://127.0.0.1:9002" } }\n-- ${tag}\nfunction route(h, p) return proxy.hash(h) end\n`;

describe.skipIf(etcdMissing)('two concurrent pushes', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  const prefix = '/race/';
  beforeAll(async () => { etcd = await startEtcd(); client = new Etcd3({ hosts: etcd.url }); });
  afterAll(async () => { client?.close(); await etcd?.stop(); });

  it('one wins, the other fails naming the revision; a stale backend push loses too', async () => {
    expect((await cli('push', path.join(scriptDir({ 'config.lua': script('v1') }), 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    const [planA, planB] = await Promise.all([
      planScript(client, prefix, path.join(scriptDir({ 'config.lua': script('alice') }), 'config.lua')),
      planScript(client, prefix, path.join(scriptDir({ 'config.lua': script('bob') }), 'config.lua')),
    ]);
    expect(planA.readRevision).toBe(planB.readRevision);
    const outcomes = await Promise.allSettled([commitPlan(client, prefix, planA), commitPlan(client, prefix, planB)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled') as PromiseFulfilledResult<number>[];
    const lost = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const err = lost[0].reason as Error & { code: string };
    expect(err.code).toBe('LPX_FLEET_CONFLICT');
    expect(err.message).toContain(`etcd changed since revision ${planA.readRevision}, which this push read: config.lua at revision ${won[0].value}`);
    expect(err.message).toContain('Nothing was written');
    // etcd holds the winner's script whole
    const text = await client.get(`${prefix}config.lua`).string();
    expect(text).toBe(script(outcomes[0].status === 'fulfilled' ? 'alice' : 'bob'));

    // a backend list planned before that push is stale as well
    const stale = await planBackends(client, prefix, JSON.stringify([{ name: 'a', url: 'http://127.0.0.1:9001' }]), 'b.json');
    await client.put(`${prefix}config.lua`).value(script('carol'));
    await expect(commitPlan(client, prefix, stale)).rejects.toThrow(/LPX_FLEET_CONFLICT|etcd changed since revision/);
    expect(await client.get(`${prefix}backends`).string()).toBeNull();

    // and through the CLI: a conflict exits 1 with one line naming the revisions (here: a push over a fresh write is fine)
    const ok = await cli('push', path.join(scriptDir({ 'config.lua': script('dave') }), 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(ok.code).toBe(0);
  });
});
