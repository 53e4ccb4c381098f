/**
 * A backend that turns slow (answers long after the header timeout) gives 504s, never a
 * hang or "socket hang up", and after eject_after timeouts in a row it is ejected, so
 * its hosts go to their next candidate until it recovers.
 */
import { describe, it, expect } from 'vitest';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';

describe('a slow backend', () => {
  it('answers 504 within the header timeout and is routed around after repeated timeouts', async () => {
    const slow = await startBackend('slow', (_req, res) => {
      const t = setTimeout(() => { res.writeHead(200, { 'x-backend': 'slow' }); res.end('late'); }, 3000);
      res.on('close', () => clearTimeout(t));
    });
    const fast = await startBackend('fast');
    const p = await startProxy(luaBackends([slow, fast]) + `
timeouts = { header = 0.3 }
health = { interval = 0, eject_after = 2, eject_time = 30 }
function route(host, path) return proxy.hash(host) end`);
    try {
      const set = p.running.config.backendSet;
      const slowIndex = set.list.findIndex((b) => b.name === 'slow');
      const enc = new TextEncoder();
      let host = '';
      for (let i = 0; i < 200 && !host; i++) if (set.hash(enc.encode(`h${i}.example.com`)) === slowIndex) host = `h${i}.example.com`;
      expect(host).not.toBe('');
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        const r = await get(p.url + '/', { host, timeoutMs: 5000 });
        expect(r.status).toBe(504);
        expect(r.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_HEADER_TIMEOUT');
        expect(performance.now() - t0).toBeLessThan(2000);
      }
      expect(set.list[slowIndex].status).toBe('down');
      const r = await get(p.url + '/', { host });
      expect([r.status, r.headers['x-backend']]).toEqual([200, 'fast']);
      expect(slow.seen).toHaveLength(2);
    } finally {
      await p.close();
      await slow.close();
      await fast.close();
    }
  });
});
