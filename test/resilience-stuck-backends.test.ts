/**
 * Every backend accepts connections and never answers. Clients get 503 (queue full or
 * queue timeout) or 504 (header timeout) within the configured times, never a hang, and
 * the proxy's heap stays flat over repeated waves of such requests: every queue is
 * bounded.
 */
import { describe, it, expect } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { load, hostList } from './helpers/load.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
function heapMB(): number {
  gc(); gc();
  return process.memoryUsage().heapUsed / 1048576;
}

describe('every backend stuck', () => {
  it('answers 503/504 within the configured times and keeps the heap flat', async () => {
    const a = await startBackend('a', () => { /* accept, never answer */ });
    const b = await startBackend('b', () => { /* accept, never answer */ });
    const p = await startProxy(luaBackends([a, b]) + `
timeouts = { header = 0.5 }
limits = { backend_concurrency = 8, queue = 16, queue_timeout = 0.2 }
health = { interval = 0 }
log = { access = false }
function route(host, path) return proxy.hash(host) end`);
    try {
      const heap: number[] = [];
      for (let wave = 0; wave < 6; wave++) {
        const r = await load(p.url, { hosts: hostList(50), total: 400, concurrency: 64, timeoutMs: 3000 });
        // nobody waits longer than the header timeout plus slack: the client's own 3 s timeout never fires
        expect(r.errors).toEqual({});
        expect(Object.keys(r.statuses).sort()).toEqual(['503', '504']);
        expect(r.statuses[503] + r.statuses[504]).toBe(400);
        p.logs.length = 0; // the test's own copy of the log lines is not the proxy's memory
        heap.push(heapMB());
      }
      const set = p.running.config.backendSet;
      expect(set.list.map((x) => x.queued)).toEqual([0, 0]);
      expect(set.list.map((x) => x.inflight)).toEqual([0, 0]);
      // after the first waves warm up, six waves of 400 requests add no lasting heap
      console.info(`heap after each wave (MB): ${heap.map((h) => h.toFixed(1)).join(', ')}`);
      expect(heap[5] - heap[1]).toBeLessThan(4);
    } finally {
      await p.close();
      await a.close();
      await b.close();
    }
  }, 60_000);
});
