/**
 * A backend whose certificate fails verification is a connect failure: a request hashed
 * to it is served by the key's next candidate, and the failure counts against the bad
 * backend's passive health.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCA, makeCert } from '../src/tls/self-signed.js';
import { startHttpsBackend } from './helpers/https-backend.js';
import { startProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { murmur3 } from '../src/balancer/hash.js';

describe('a backend that fails TLS verification', () => {
  it("is failed over to the key's next candidate", async () => {
    const ca = await makeCA();
    // "bad" presents a certificate its CA did not issue (a self-signed one for the right name)
    const [good, bad] = await Promise.all([
      startHttpsBackend('good', await makeCert({ ca, names: ['app.internal'] })),
      startHttpsBackend('bad', await makeCert({ names: ['app.internal'] })),
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-tls-failover-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    const p = await startProxy(`backends = {
  { name = "bad", url = "https://127.0.0.1:${bad.port}", ca = "ca.pem", servername = "app.internal" },
  { name = "good", url = "https://127.0.0.1:${good.port}", ca = "ca.pem", servername = "app.internal" },
}
health = { interval = 0 }
function route(host, path)
  return proxy.hash(path)
end`, { dir });
    try {
      const set = p.running.config.backendSet;
      const first = (k: string) => set.list[set.hashCandidates(murmur3(new TextEncoder().encode(k)))[0]].name;
      const key = Array.from({ length: 200 }, (_, i) => `/k${i}`).find((k) => first(k) === 'bad')!;
      expect(key).toBeDefined();
      const r = await get(p.url + key, { host: 'x' });
      expect(r.status).toBe(200);
      expect(r.headers['x-backend']).toBe('good');
      expect(bad.sni).toEqual(['app.internal']); // it was tried first
      const retry = p.logs.find((l) => l.msg === 'backend connect failed; retrying on the next backend');
      expect(retry).toMatchObject({ backend: 'bad', next: 'good', code: 'LPX_UPSTREAM_TLS' });
      expect(String(retry!.err)).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ \(server name app\.internal\) failed/);
      expect(p.logs.find((l) => l.msg === 'request')).toMatchObject({ status: 200, backend: 'good', retries: 1 });
      expect(set.byName.get('bad')!.consecutiveFailures).toBe(1);
    } finally {
      await p.close();
      await good.close();
      await bad.close();
    }
  });
});
