/**
 * The watchdog ends only a loop stalled for kill_after seconds: kill_after = 0 turns it
 * off, and a stall shorter than kill_after is survived. Each process is frozen for 3 s
 * with the debug-only hook (LUAPROXY_DEBUG_FREEZE + SIGUSR2), and must serve afterwards.
 */
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import { spawnProxy, type ProxyProcess } from './reliability/lib/proxy-process.js';
import { builtBinaryExists } from './helpers/cluster.js';
import { get } from './helpers/http.js';

const ROUTE = 'function route(host, path) return { status = 200, body = "ok" } end\n';

describe('the watchdog leaves a process alone', () => {
  let p: ProxyProcess | null = null;
  afterEach(async () => {
    if (!p) return;
    await p.stop();
    fs.rmSync(p.dir, { recursive: true, force: true });
    p = null;
  });

  async function freezeAndSurvive(source: string): Promise<void> {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    p = await spawnProxy(source, { env: { LUAPROXY_DEBUG_FREEZE: '3000' } });
    expect((await get(`${p.url}/before`, { host: 'a.example' })).status).toBe(200);
    process.kill(p.pid, 'SIGUSR2');
    // give the signal a moment to reach the loop first: on a loaded machine a request sent
    // at once could be answered before the freeze began
    await new Promise((resolve) => setTimeout(resolve, 200));
    // answered only once the 3 s freeze is over: the loop really stopped
    const t0 = Date.now();
    const during = await get(`${p.url}/during`, { host: 'a.example', timeoutMs: 10_000 });
    expect(during.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(p.exited).toBeNull();
    expect((await get(`${p.url}/after`, { host: 'a.example' })).status).toBe(200);
    expect(p.logs.filter((l) => l.level === 60)).toEqual([]);
  }

  it('when watchdog.kill_after = 0', async () => {
    await freezeAndSurvive(`watchdog = { kill_after = 0 }\n${ROUTE}`);
    expect(p!.logs.some((l) => /^watchdog on/.test(l.msg))).toBe(false);
  });

  it('when the stall is shorter than watchdog.kill_after', async () => {
    await freezeAndSurvive(`watchdog = { kill_after = 5 }\n${ROUTE}`);
    expect(p!.logs.some((l) => /^watchdog on/.test(l.msg))).toBe(true);
  });
});
