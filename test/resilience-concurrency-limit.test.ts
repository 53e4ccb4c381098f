/**
 * The per-backend concurrency limit: requests past the limit wait in a bounded FIFO
 * queue; a full queue or a wait past queue_timeout gets a fast 503 with Retry-After;
 * a freed slot goes to the oldest waiting request.
 */
import { describe, it, expect } from 'vitest';
import type { ServerResponse } from 'node:http';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { get, type Reply } from './helpers/http.js';

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('per-backend concurrency limit with a bounded queue', () => {
  it('queues past the limit, refuses at once when the queue is full, and times waiters out with 503', async () => {
    const held: ServerResponse[] = [];
    const a = await startBackend('a', (_req, res) => { held.push(res); });
    const p = await startProxy(luaBackends([a]) + `
limits = { backend_concurrency = 2, queue = 2, queue_timeout = 0.3 }
function route(host, path) return "a" end`);
    try {
      const st = p.running.config.backendSet.byName.get('a')!;
      const started = performance.now();
      const replies: Array<Promise<Reply & { ms: number }>> = [];
      for (let i = 0; i < 6; i++) {
        replies.push(get(p.url + `/r${i}`, { host: 'x' }).then((r) => ({ ...r, ms: performance.now() - started })));
        if (i < 2) await until('the backend holds the request', () => held.length === i + 1);
      }
      await until('two wait in the queue', () => st.queued === 2 && st.inflight === 2);
      const all = await Promise.all(replies.slice(2));
      const overloaded = all.filter((r) => r.headers['x-luaproxy-error'] === 'LPX_UPSTREAM_OVERLOADED');
      const timedOut = all.filter((r) => r.headers['x-luaproxy-error'] === 'LPX_UPSTREAM_QUEUE_TIMEOUT');
      expect(overloaded).toHaveLength(2);
      expect(timedOut).toHaveLength(2);
      for (const r of all) {
        expect(r.status).toBe(503);
        expect(r.headers['retry-after']).toBe('1');
      }
      for (const r of timedOut) expect(r.ms).toBeGreaterThanOrEqual(280);
      expect(a.seen).toHaveLength(2); // nothing past the limit reached the backend
      expect(st.queued).toBe(0);
      for (const res of held) res.end('done');
      expect((await Promise.all(replies.slice(0, 2))).map((r) => r.status)).toEqual([200, 200]);
    } finally {
      await p.close();
      await a.close();
    }
  });

  it('gives a freed slot to the oldest waiting request', async () => {
    const held: Array<{ url: string; res: ServerResponse }> = [];
    const a = await startBackend('a', (req, res) => { held.push({ url: req.url ?? '', res }); });
    const p = await startProxy(luaBackends([a]) + `
limits = { backend_concurrency = 1, queue = 10, queue_timeout = 10 }
function route(host, path) return "a" end`);
    try {
      const st = p.running.config.backendSet.byName.get('a')!;
      const first = get(p.url + '/first', { host: 'x' });
      await until('first is at the backend', () => held.length === 1);
      const second = get(p.url + '/second', { host: 'x' });
      await until('second waits', () => st.queued === 1);
      const third = get(p.url + '/third', { host: 'x' });
      await until('third waits', () => st.queued === 2);
      held[0].res.end('1');
      await until('second reached the backend', () => held.length === 2);
      expect(held[1].url).toBe('/second');
      held[1].res.end('2');
      await until('third reached the backend', () => held.length === 3);
      held[2].res.end('3');
      expect((await Promise.all([first, second, third])).map((r) => r.body.toString())).toEqual(['1', '2', '3']);
    } finally {
      await p.close();
      await a.close();
    }
  });

  it('drops a waiting request whose client went away', async () => {
    const held: ServerResponse[] = [];
    const a = await startBackend('a', (_req, res) => { held.push(res); });
    const p = await startProxy(luaBackends([a]) + `
limits = { backend_concurrency = 1, queue = 10, queue_timeout = 10 }
function route(host, path) return "a" end`);
    try {
      const st = p.running.config.backendSet.byName.get('a')!;
      const first = get(p.url + '/first', { host: 'x' });
      await until('first is at the backend', () => held.length === 1);
      const gone = get(p.url + '/gone', { host: 'x', timeoutMs: 200 }).catch((e: Error) => e.message);
      await until('it waits', () => st.queued === 1);
      expect(await gone).toBe('client timeout');
      await until('the queue forgot it', () => st.queued === 0);
      held[0].end('1');
      await first;
      const next = get(p.url + '/next', { host: 'x' });
      await until('next reached the backend', () => held.length === 2);
      held[1].end('n');
      expect((await next).status).toBe(200);
      expect(a.seen.map((s) => s.url)).toEqual(['/first', '/next']);
    } finally {
      await p.close();
      await a.close();
    }
  });
});
