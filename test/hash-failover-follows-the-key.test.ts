/**
 * A connect failure on a backend chosen by `proxy.hash(key)` is retried on that key's
 * next candidate, not on the Host's: a script that hashes something other than the Host
 * (the reload URL of a hosted web app) keeps its routing while a backend is down.
 */
import { describe, it, expect } from 'vitest';
import { startBackend, deadPort } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { murmur3 } from '../src/balancer/hash.js';

describe('failover after proxy.hash(key)', () => {
  it("goes to the key's next candidate", async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const c = await startBackend('c');
    const dead = await deadPort();
    const p = await startProxy(luaBackends([a, b, c, { name: 'dead', url: `http://127.0.0.1:${dead}` }]) + `
health = { interval = 0 }
function route(host, path)
  local domain = path:match("^/reload/(.+)$")
  if domain then return proxy.hash(domain) end
  return proxy.hash(host)
end`);
    try {
      const set = p.running.config.backendSet;
      const enc = new TextEncoder();
      const order = (k: string) => set.hashCandidates(murmur3(enc.encode(k))).map((i) => set.list[i].name);
      const domain = Array.from({ length: 500 }, (_, i) => `app${i}.example.com`).find((d) => order(d)[0] === 'dead')!;
      expect(domain).toBeDefined();
      const second = order(domain)[1];
      // a Host whose own failover would pick a different backend
      const host = Array.from({ length: 500 }, (_, i) => `h${i}.example.com`).find((h) => order(h).filter((n) => n !== 'dead')[0] !== second)!;
      const r = await get(p.url + `/reload/${domain}`, { host });
      expect(r.status).toBe(200);
      expect(r.headers['x-backend']).toBe(second);
      const line = p.logs.find((l) => l.msg === 'request' && String(l.path).startsWith('/reload/'));
      expect(line).toMatchObject({ retries: 1, backend: second });
    } finally {
      await p.close();
      for (const s of [a, b, c]) await s.close();
    }
  });
});
