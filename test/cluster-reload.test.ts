import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { startCluster, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';

const script = (backends: string, target: string) => `listen = "127.0.0.1:0"\n${backends}\nfunction route(host, path) return "${target}" end\n`;

describe('reloading a cluster', () => {
  let a: TestBackend, b: TestBackend, c: ClusterProc, bs: string;
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    bs = luaBackends([a, b]);
    c = await startCluster(script(bs, 'a'), 2, ['--no-watch']);
  });
  afterAll(async () => { await c?.close(); await Promise.all([a?.close(), b?.close()]); });

  async function backendsSeen(n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(String((await get(`http://127.0.0.1:${c.port}/`, { host: `h${i}.example.com` })).headers['x-backend']));
    return seen;
  }

  it('switches every worker to the new version on SIGHUP', async () => {
    expect(await backendsSeen(8)).toEqual(new Set(['a']));
    const from = c.logs.length;
    c.write(script(bs, 'b'));
    c.proc.kill('SIGHUP');
    const live = await c.waitFor((l) => typeof l.msg === 'string' && /^reload: version \d+ live/.test(l.msg), 15_000, from);
    expect(live.role).toBe('primary');
    // the workers' dry runs are summed: every one of the 8 recent hosts moves from a to b
    expect(live.msg).toMatch(/; 100\.0% of 8 recent hosts change backend$/);
    expect((live.reload as { sampled: number; moved: number }).sampled).toBe(8);
    // both workers report the switch (their log lines may reach the pipe a little later)
    const w1 = await c.waitFor((l) => l.worker === 1 && typeof l.msg === 'string' && l.msg.startsWith('worker 1: version 2 live'), 5000, from);
    const w2 = await c.waitFor((l) => l.worker === 2 && typeof l.msg === 'string' && l.msg.startsWith('worker 2: version 2 live'), 5000, from);
    expect(w1.pid).not.toBe(w2.pid);
    expect(await backendsSeen(12)).toEqual(new Set(['b']));
  });

  it('refuses a broken script in every worker and keeps the last good version', async () => {
    const from = c.logs.length;
    c.write(script(bs, 'b') + 'function route(host, path) return "nope" end\n');
    c.proc.kill('SIGHUP');
    const refused = await c.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('reload refused'), 15_000, from);
    expect(String(refused.msg)).toMatch(/nope/);
    await new Promise((r) => setTimeout(r, 600)); // longer than a worker's log flush period
    expect(c.logs.slice(from).some((l) => typeof l.msg === 'string' && /^worker \d+: version 3/.test(l.msg))).toBe(false);
    expect(await backendsSeen(12)).toEqual(new Set(['b']));
  });

  it('boots a replacement worker from the live version, not from a refused file on disk', async () => {
    // the file on disk still holds the refused script from the previous test
    const serving = c.logs.filter((l) => typeof l.msg === 'string' && /^worker \d+ \(pid \d+\) serving/.test(l.msg));
    const victim = serving[serving.length - 1];
    const from = c.logs.length;
    process.kill(Number(victim.pid), 'SIGKILL');
    await c.waitFor((l) => typeof l.msg === 'string' && new RegExp(`^worker ${victim.worker} \\(pid \\d+\\) serving`).test(l.msg), 15_000, from);
    expect(await backendsSeen(12)).toEqual(new Set(['b']));
  });
});
