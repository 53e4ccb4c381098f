/**
 * With every backend refusing connections, clients get a fast 503 with Retry-After:
 * the helpers run in panic mode (they still name a backend, so route() never answers
 * 404 by accident), the try fails at connect, and no backend is left to fail over to.
 */
import { describe, it, expect } from 'vitest';
import { deadPort } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';

describe('every backend dead', () => {
  it('answers 503 with Retry-After in well under 2 s, for proxy.hash and proxy.round_robin alike', async () => {
    const x = await deadPort();
    const y = await deadPort();
    const p = await startProxy(luaBackends([{ name: 'x', url: `http://127.0.0.1:${x}` }, { name: 'y', url: `http://127.0.0.1:${y}` }]) + `
health = { interval = 0.2, fall = 1 }
function route(host, path)
  if path == "/rr" then return proxy.round_robin() end
  return proxy.hash(host)
end`);
    try {
      // wait (bounded) until the health checks have marked both down
      const set = p.running.config.backendSet;
      for (let i = 0; i < 50 && set.list.some((b) => b.healthy); i++) await new Promise((r) => setTimeout(r, 50));
      expect(set.list.map((b) => b.status)).toEqual(['down', 'down']);
      for (const path of ['/', '/rr']) {
        const t0 = performance.now();
        const r = await get(p.url + path, { host: 'z.example.com', timeoutMs: 5000 });
        const ms = performance.now() - t0;
        expect(r.status, path).toBe(503);
        expect(r.headers['retry-after']).toBe('1');
        expect(r.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_UNAVAILABLE');
        expect(r.body.toString()).toMatch(/no backend is available/);
        expect(ms).toBeLessThan(2000);
      }
    } finally {
      await p.close();
    }
  });

  it('answers 503 before any health check ran, once every backend refused the request', async () => {
    const x = await deadPort();
    const y = await deadPort();
    const p = await startProxy(luaBackends([{ name: 'x', url: `http://127.0.0.1:${x}` }, { name: 'y', url: `http://127.0.0.1:${y}` }]) + `
health = { interval = 0 }
function route(host, path) return proxy.hash(host) end`);
    try {
      const r = await get(p.url + '/', { host: 'z.example.com', timeoutMs: 5000 });
      expect(r.status).toBe(503);
      expect(r.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_UNAVAILABLE');
      expect(p.logs.find((l) => l.msg === 'request')).toMatchObject({ retries: 1 });
    } finally {
      await p.close();
    }
  });
});
