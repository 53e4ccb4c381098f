/**
 * With one backend of three refusing connections, a keep-alive load over 200 hosts
 * routed by proxy.hash sees no failed request: connect failures are retried on the
 * key's next candidate, and the dead backend is ejected. Hosts of the live backends
 * never move.
 */
import { describe, it, expect } from 'vitest';
import { startBackend, deadPort } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { load, hostList } from './helpers/load.js';

describe('one dead backend of three', () => {
  it('a bounded keep-alive load over 200 hosts sees zero failed requests', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const dead = await deadPort();
    const p = await startProxy(luaBackends([a, b, { name: 'dead', url: `http://127.0.0.1:${dead}` }]) + `
log = { access = false }
function route(host, path) return proxy.hash(host) end`);
    try {
      const r = await load(p.url, { hosts: hostList(200), total: 3000, concurrency: 16 });
      expect({ failed: r.sent - r.ok, statuses: r.statuses, errors: r.errors }).toEqual({ failed: 0, statuses: { 200: 3000 }, errors: {} });
      // every host stayed on one backend the whole time (its first live candidate)
      for (const [host, m] of Object.entries(r.byHost)) expect(Object.keys(m), host).toHaveLength(1);
      const dst = p.running.config.backendSet.byName.get('dead')!;
      expect(dst.available).toBe(false);
      expect(p.logs.some((l) => /backend dead ejected/.test(String(l.msg)))).toBe(true);
    } finally {
      await p.close();
      await a.close();
      await b.close();
    }
  });
});
