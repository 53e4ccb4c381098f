/**
 * A backend that dies and comes back on the same port is marked down by HTTP health
 * checks (its hosts go to their next candidate meanwhile) and readmitted by them (its
 * hosts come back to it). Real sockets; bounded waits.
 */
import { describe, it, expect } from 'vitest';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('health checks follow a backend that dies and comes back', () => {
  it('ejects it while it is gone and readmits it once its checks pass again', async () => {
    const a = await startBackend('a');
    let b = await startBackend('b');
    const port = b.port;
    const p = await startProxy(luaBackends([a, b]) + `
health = { path = "/health", interval = 0.1, timeout = 0.5, rise = 2, fall = 2 }
log = { access = false }
function route(host, path) return proxy.hash(host) end`);
    try {
      const bState = p.running.config.backendSet.byName.get('b')!;
      // a host that hashes to b while both are up
      let host = '';
      for (let i = 0; i < 100 && !host; i++) {
        const r = await get(p.url + '/', { host: `h${i}.example.com` });
        if (r.headers['x-backend'] === 'b') host = `h${i}.example.com`;
      }
      expect(host).not.toBe('');
      expect(b.seen.some((s) => s.url === '/health' && s.headers['user-agent'] === 'luaproxy-health-check')).toBe(true);

      await b.close();
      await until('b is down', () => !bState.healthy);
      expect(bState.lastCheck).toMatch(/ECONNREFUSED/);
      const during = await get(p.url + '/', { host });
      expect([during.status, during.headers['x-backend']]).toEqual([200, 'a']);
      expect(p.logs.some((l) => l.backend === 'b' && l.healthy === false)).toBe(true);

      b = await startBackend('b', undefined, port);
      await until('b is up again', () => bState.healthy);
      const after = await get(p.url + '/', { host });
      expect([after.status, after.headers['x-backend']]).toEqual([200, 'b']);
    } finally {
      await p.close();
      await a.close();
      await b.close();
    }
  });
});
