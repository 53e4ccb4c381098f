/**
 * Issue #13, defence in depth: a process whose event loop stops turning ends itself
 * after watchdog.kill_after seconds, with exit code 71 and one fatal JSON line naming the
 * last request's host and path and the script. The loop is frozen with the debug-only
 * hook (LUAPROXY_DEBUG_FREEZE + SIGUSR2), which no script can reach.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import { spawnProxy, type ProxyProcess } from './reliability/lib/proxy-process.js';
import { builtBinaryExists } from './helpers/cluster.js';
import { get } from './helpers/http.js';

describe('the watchdog of a single process', () => {
  let p: ProxyProcess | null = null;
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    p = await spawnProxy('watchdog = { kill_after = 1 }\nfunction route(host, path) return { status = 200, body = "ok" } end\n', { env: { LUAPROXY_DEBUG_FREEZE: '600000' } });
  });
  afterAll(async () => {
    if (!p) return;
    await p.stop(); // SIGTERM, then SIGKILL after 10 s (a frozen process ignores SIGTERM)
    fs.rmSync(p.dir, { recursive: true, force: true });
  });

  it('ends a process whose loop stopped, with exit code 71 and a fatal line naming the last request', async () => {
    const proc = p!;
    const r = await get(`${proc.url}/last/request?q=1`, { host: 'Frozen.Example.COM' });
    expect(r.status).toBe(200);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.child.once('exit', (code, signal) => resolve({ code, signal })));
    const t0 = Date.now();
    process.kill(proc.pid, 'SIGUSR2'); // the main thread now spins for 10 minutes
    const end = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 8000))]);
    const took = Date.now() - t0;
    expect(end, 'the frozen process was still running 8 s later').not.toBeNull();
    expect(end).toEqual({ code: 71, signal: null });
    // kill_after (1 s) + one poll (0.25 s) + asking the main thread, with room for a slow CI machine
    expect(took).toBeLessThan(5000);
    // stdout drains after the exit
    await new Promise((resolve) => setTimeout(resolve, 200));
    const fatal = proc.logs.find((l) => l.level === 60);
    expect(fatal, 'no fatal line').toBeDefined();
    expect(fatal!.msg).toMatch(/^watchdog: the event loop has not turned for [\d.]+ s \(watchdog.kill_after = 1\)/);
    expect(fatal).toMatchObject({ host: 'frozen.example.com', path: '/last/request', script: 'config.lua', kill_after: 1, exit_code: 71, pid: proc.pid });
    expect(fatal!.stalled_ms).toBeGreaterThanOrEqual(1000);
    // the frozen main thread's JS stack, as it answered the watchdog
    expect((fatal!.stack as string[]).join('\n')).toContain('debug-freeze');
    expect(typeof fatal!.time).toBe('string');
  });
});
