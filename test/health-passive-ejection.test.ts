/**
 * Passive ejection: consecutive failed requests eject a backend for a backoff that
 * doubles on repeated ejection; the last available backend is never ejected; with
 * active checks on, an ejected backend returns only through them.
 */
import { describe, it, expect } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';

const failing = (name: string) => startBackend(name, (req, res) => {
  if (req.url === '/health') { res.writeHead(200); res.end('ok'); return; }
  res.writeHead(500, { 'x-backend': name });
  res.end('broken');
});

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function closeAll(...xs: Array<{ close(): Promise<void> }>): Promise<void> {
  for (const x of xs) await x.close();
}

describe('passive ejection', () => {
  it('ejects a backend after eject_after failures in a row, for a backoff that doubles when it fails again', async () => {
    const a = await startBackend('a');
    const b = await failing('b');
    const p = await startProxy(luaBackends([a, b]) + `
health = { interval = 0, eject_after = 3, eject_time = 0.3, eject_max = 10 }
function route(host, path) return proxy.round_robin() end`);
    try {
      const bs = p.running.config.backendSet.byName.get('b')!;
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await get(p.url + '/', { host: 'x' })).status);
      expect(statuses.filter((s) => s === 500)).toHaveLength(3);
      expect(bs.status).toBe('down');
      expect(bs.lastError).toBe('LPX_UPSTREAM_PROTOCOL');
      // while ejected, everything goes to a
      for (let i = 0; i < 6; i++) expect((await get(p.url + '/', { host: 'x' })).headers['x-backend']).toBe('a');
      await until('the first ejection runs out', () => bs.ejectedUntil <= Date.now());
      for (let i = 0; i < 12 && bs.ejections < 2; i++) await get(p.url + '/', { host: 'x' });
      const secs = p.logs.filter((l) => l.backend === 'b' && typeof l.seconds === 'number').map((l) => l.seconds);
      expect(secs).toEqual([0.3, 0.6]);
    } finally {
      await closeAll(p, a, b);
    }
  });

  it('never ejects the last available backend', async () => {
    const a = await failing('a');
    const b = await failing('b');
    const p = await startProxy(luaBackends([a, b]) + `
health = { interval = 0, eject_after = 2, eject_time = 30 }
function route(host, path) return proxy.round_robin() end`);
    try {
      const set = p.running.config.backendSet;
      for (let i = 0; i < 12; i++) expect((await get(p.url + '/', { host: 'x' })).status).toBe(500);
      expect(set.list.map((x) => x.status).sort()).toEqual(['down', 'up']);
      expect(p.logs.some((l) => /is the last available backend; not ejecting it/.test(String(l.msg)))).toBe(true);
    } finally {
      await closeAll(p, a, b);
    }
  });

  it('with active checks on, an ejected backend comes back only after its health checks pass', async () => {
    const a = await startBackend('a');
    const b: TestBackend = await failing('b');
    const p = await startProxy(luaBackends([a, b]) + `
health = { path = "/health", interval = 0.1, rise = 3, fall = 2, eject_after = 2, eject_time = 0.2 }
log = { access = false }
function route(host, path) return proxy.round_robin() end`);
    try {
      const bs = p.running.config.backendSet.byName.get('b')!;
      for (let i = 0; i < 4; i++) await get(p.url + '/', { host: 'x' });
      expect(bs.ejections).toBe(1);
      expect(bs.healthy).toBe(false); // needs `rise` good checks, not just the backoff
      const checksAtEjection = b.seen.filter((s) => s.url === '/health').length;
      await until('b is readmitted', () => bs.available);
      expect(b.seen.filter((s) => s.url === '/health').length - checksAtEjection).toBeGreaterThanOrEqual(3);
      expect(p.logs.some((l) => l.backend === 'b' && l.healthy === true)).toBe(true);
    } finally {
      await closeAll(p, a, b);
    }
  });
});
