import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, deadPort, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { startCluster, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';

describe('health checks in a cluster', () => {
  let a: TestBackend, c: ClusterProc, dead: number;
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    a = await startBackend('a');
    dead = await deadPort();
    c = await startCluster(`listen = "127.0.0.1:0"
${luaBackends([a, { name: 'gone', url: `http://127.0.0.1:${dead}` }])}
health = { path = "/health", interval = 0.3, timeout = 0.5, rise = 1, fall = 1 }
function route(host, path) return proxy.hash(host) end
`, 3);
  });
  afterAll(async () => { await c?.close(); await a?.close(); });

  it('runs once per machine, in the primary, and every worker learns the result', async () => {
    // every worker marks the dead backend down without checking it itself
    for (const id of [1, 2, 3]) {
      await c.waitFor((l) => l.worker === id && l.backend === 'gone' && l.healthy === false, 10_000);
    }
    const checksBefore = a.seen.filter((r) => r.url === '/health').length;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    const checks = a.seen.filter((r) => r.url === '/health').length - checksBefore;
    const rounds = (Date.now() - t0) / 300;
    // one checker: about one check per interval (jitter ±10%); three would be about 3x
    expect(checks).toBeGreaterThan(0);
    expect(checks).toBeLessThanOrEqual(Math.ceil(rounds * 1.3) + 1);
  });
});
