/**
 * The active checker's schedule and counting, with an injected probe and fake timers:
 * checks are jittered by ±10%, never overlap for one backend, count rise/fall, and
 * accept results from outside (a cluster primary) through apply().
 */
import { describe, it, expect, afterEach, vi } from 'vitest';
import { BackendState } from '../src/balancer/backend.js';
import { HealthChecker, type HealthSettings, type HealthChange } from '../src/health/checker.js';
import type { ProbeResult } from '../src/health/probe.js';
import { silentLogger } from '../src/core/logger.js';

const base: HealthSettings = { interval: 1, timeout: 0.5, path: null, method: 'GET', expect: [200, 399], rise: 2, fall: 3 };

function setup(opts: { settings?: Partial<HealthSettings>; random?: () => number; remote?: boolean; probe?: (url: string) => Promise<ProbeResult> } = {}) {
  const backends = [new BackendState('a', 'http://127.0.0.1:1', 1), new BackendState('b', 'http://127.0.0.1:2', 1)];
  const calls: Array<{ url: string; at: number }> = [];
  let answer: ProbeResult = { ok: true, detail: 'HTTP 200' };
  const checker = new HealthChecker({
    log: silentLogger(),
    backends: () => backends,
    settings: () => ({ ...base, ...opts.settings }),
    remote: opts.remote,
    random: opts.random ?? (() => 0.5),
    probe: opts.probe ?? (async (url) => { calls.push({ url, at: Date.now() }); return answer; }),
  });
  const changes: HealthChange[] = [];
  checker.on('change', (c: HealthChange) => changes.push(c));
  return { backends, calls, checker, changes, set: (r: ProbeResult) => { answer = r; } };
}

afterEach(() => { vi.useRealTimers(); });

describe('active health checker', () => {
  it('spreads checks by ±10% of the interval around the interval', async () => {
    vi.useFakeTimers({ now: 0 });
    const draws = [0, 0, 1, 1, 0, 0, 1, 1];
    let i = 0;
    const t = setup({ random: () => draws[i++ % draws.length] });
    t.checker.start();
    await vi.advanceTimersByTimeAsync(10_000);
    t.checker.stop();
    const gaps = t.calls.filter((c) => c.url.endsWith(':1')).map((c, k, arr) => (k ? c.at - arr[k - 1].at : null)).filter((g): g is number => g !== null);
    expect(Math.min(...gaps)).toBe(900);
    expect(Math.max(...gaps)).toBe(1100);
  });

  it('never starts a check of a backend while its previous check is still running', async () => {
    vi.useFakeTimers({ now: 0 });
    let running = 0, maxRunning = 0, count = 0;
    const t = setup({
      settings: { interval: 0.1 },
      probe: (url) => {
        if (!url.endsWith(':1')) return Promise.resolve({ ok: true, detail: '' });
        running++; count++; maxRunning = Math.max(maxRunning, running);
        return new Promise((r) => setTimeout(() => { running--; r({ ok: true, detail: 'slow' }); }, 1000));
      },
    });
    t.checker.start();
    await vi.advanceTimersByTimeAsync(5_500);
    t.checker.stop();
    expect(maxRunning).toBe(1);
    // a 1 s check plus a 0.1 s interval: about five checks in 5.5 s, not fifty
    expect(count).toBeGreaterThanOrEqual(4);
    expect(count).toBeLessThanOrEqual(6);
  });

  it('marks a backend down after `fall` failed checks and up after `rise` good ones', async () => {
    vi.useFakeTimers({ now: 0 });
    const t = setup();
    t.checker.start();
    await vi.advanceTimersByTimeAsync(200);
    t.set({ ok: false, detail: 'ECONNREFUSED' });
    await vi.advanceTimersByTimeAsync(1000 * 2);
    expect(t.backends[0].healthy).toBe(true); // two failures: not yet
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.backends[0].healthy).toBe(false);
    expect(t.backends[0].lastCheck).toBe('ECONNREFUSED');
    t.set({ ok: true, detail: 'HTTP 200' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.backends[0].healthy).toBe(false); // one good check: not yet
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.backends[0].healthy).toBe(true);
    t.checker.stop();
    expect(t.changes.filter((c) => c.name === 'a').map((c) => c.healthy)).toEqual([false, true]);
  });

  it('in remote mode runs no checks and takes results through apply(), emitting change', async () => {
    vi.useFakeTimers({ now: 0 });
    const t = setup({ remote: true });
    t.checker.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.calls).toHaveLength(0);
    expect(t.checker.apply('b', false, 'HTTP 503 (from the primary)')).toBe(true);
    expect(t.backends[1].healthy).toBe(false);
    expect(t.backends[1].status).toBe('down');
    expect(t.checker.apply('nope', false)).toBe(false);
    expect(t.changes).toMatchObject([{ name: 'b', healthy: false, detail: 'HTTP 503 (from the primary)' }]);
    expect(t.checker.snapshot().map((s) => [s.name, s.healthy])).toEqual([['a', true], ['b', false]]);
    t.checker.stop();
  });

  it('stops checking on stop() and when the interval is set to 0 brings down backends back', async () => {
    vi.useFakeTimers({ now: 0 });
    let interval = 1;
    const t = setup();
    const checker = new HealthChecker({ log: silentLogger(), backends: () => t.backends, settings: () => ({ ...base, interval }), probe: async () => ({ ok: false, detail: 'x' }), random: () => 0.5 });
    checker.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.backends[0].healthy).toBe(false);
    interval = 0;
    checker.sync();
    expect(t.backends[0].healthy).toBe(true);
    checker.stop();
  });
});
