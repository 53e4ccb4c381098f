import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { startCluster, answeringPids, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';

describe('luaproxy run --workers 2', () => {
  let a: TestBackend, c: ClusterProc;
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    a = await startBackend('a');
    c = await startCluster(`listen = "127.0.0.1:0"\n${luaBackends([a])}\nfunction route(host, path) return "a" end\n`, 2);
  });
  afterAll(async () => { await c?.close(); await a?.close(); });

  it('serves one port from more than one worker process', async () => {
    const workers = c.logs.filter((l) => typeof l.msg === 'string' && /^worker \d+ \(pid \d+\) serving on/.test(l.msg));
    expect(workers).toHaveLength(2);
    expect(new Set(workers.map((l) => String(l.msg).split(' on ')[1])).size).toBe(1);
    // fresh connections are spread over the workers; stop as soon as two answered
    let pids = new Set<number>();
    for (let i = 0; i < 40 && pids.size < 2; i++) {
      const r = await get(`http://127.0.0.1:${c.port}/shared-${i}`, { host: 'x.example.com' });
      expect(r.status).toBe(200);
      expect(r.headers['x-backend']).toBe('a');
      if (i % 4 === 3) {
        await c.waitFor((l) => l.msg === 'request' && l.path === `/shared-${i}`, 5000);
        pids = answeringPids(c.logs, '/shared-');
      }
    }
    expect(pids.size).toBe(2);
    expect([...pids].every((p) => p !== c.proc.pid)).toBe(true);
  });
});
