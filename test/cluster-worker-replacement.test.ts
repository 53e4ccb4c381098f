import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { startCluster, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';

describe('a cluster worker that dies', () => {
  let a: TestBackend, c: ClusterProc;
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    a = await startBackend('a');
    c = await startCluster(`listen = "127.0.0.1:0"\n${luaBackends([a])}\nfunction route(host, path) return "a" end\n`, 2);
  });
  afterAll(async () => { await c?.close(); await a?.close(); });

  it('is logged as an error and replaced by a new worker, and the port keeps serving', async () => {
    const serving = c.logs.filter((l) => typeof l.msg === 'string' && /^worker \d+ \(pid \d+\) serving/.test(l.msg));
    const victim = Number(serving[0].pid);
    const victimId = Number(serving[0].worker);
    const from = c.logs.length;
    process.kill(victim, 'SIGKILL');
    const died = await c.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('WORKER DIED'), 10_000, from);
    expect(died.level).toBe(50); // error
    expect(died.pid).toBe(victim);
    expect(died.signal).toBe('SIGKILL');
    const back = await c.waitFor((l) => typeof l.msg === 'string' && new RegExp(`^worker ${victimId} \\(pid \\d+\\) serving`).test(l.msg), 15_000, from);
    expect(back.pid).not.toBe(victim);
    for (let i = 0; i < 6; i++) {
      const r = await get(`http://127.0.0.1:${c.port}/after-${i}`, { host: 'x.example.com' });
      expect(r.status).toBe(200);
    }
  });
});
