/**
 * Issue #13: in cluster mode a worker whose event loop stops turning is ended by its own
 * watchdog (exit code 71), the primary replaces it as it replaces any dead worker, and
 * the primary's /metrics counts the kill in luaproxy_watchdog_kills_total. The worker is
 * frozen with the debug-only hook (LUAPROXY_DEBUG_FREEZE + SIGUSR2).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { parseMetrics, value } from './helpers/admin.js';
import { startCluster, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';

describe('a cluster worker whose event loop stalls', () => {
  let a: TestBackend, c: ClusterProc, admin: string;
  /** the worker frozen on purpose */
  let victim = 0;
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    a = await startBackend('a');
    c = await startCluster(`listen = "127.0.0.1:0"\nwatchdog = { kill_after = 1 }\n${luaBackends([a])}\nfunction route(host, path) return "a" end\n`, 2,
      ['--no-watch', '--admin', '127.0.0.1:0'], { LUAPROXY_DEBUG_FREEZE: '600000' });
    const line = await c.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('admin listening'), 10_000);
    admin = `http://${String(line.admin)}`;
  });
  afterAll(async () => {
    // without a working watchdog the frozen worker ignores the primary's shutdown: end it by its pid
    if (victim && !c.logs.some((l) => l.pid === victim && String(l.msg).startsWith('WORKER DIED'))) try { process.kill(victim, 'SIGKILL'); } catch { /* gone */ }
    await c?.close();
    await a?.close();
  });

  const kills = async () => value(parseMetrics((await get(`${admin}/metrics`)).body.toString()), 'luaproxy_watchdog_kills_total');

  it('is ended by its watchdog, replaced by the primary, and counted in /metrics', async () => {
    expect(await kills()).toBe(0);
    const serving = c.logs.filter((l) => typeof l.msg === 'string' && /^worker \d+ \(pid \d+\) serving/.test(l.msg));
    victim = Number(serving[0].pid);
    const victimId = Number(serving[0].worker);
    expect((await get(`http://127.0.0.1:${c.port}/before`, { host: 'x.example.com' })).status).toBe(200);
    const from = c.logs.length;
    process.kill(victim, 'SIGUSR2'); // that worker's main thread now spins for 10 minutes
    const died = await c.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('WORKER DIED'), 10_000, from);
    expect(died).toMatchObject({ pid: victim, worker: victimId, code: 71, signal: null });
    expect(died.msg).toContain('its watchdog ended it');
    const fatal = c.logs.find((l) => l.level === 60 && l.pid === victim);
    expect(fatal?.msg).toMatch(/^watchdog: the event loop has not turned/);
    expect(fatal).toMatchObject({ worker: victimId, exit_code: 71 });
    expect(fatal?.script).toMatch(/config\.lua$/);
    const back = await c.waitFor((l) => typeof l.msg === 'string' && new RegExp(`^worker ${victimId} \\(pid \\d+\\) serving`).test(l.msg), 15_000, from);
    expect(back.pid).not.toBe(victim);
    expect(await kills()).toBe(1);
    for (let i = 0; i < 6; i++) expect((await get(`http://127.0.0.1:${c.port}/after-${i}`, { host: 'x.example.com' })).status).toBe(200);
  });
});
