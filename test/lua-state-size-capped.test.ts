/**
 * A Lua state must not grow without bound across requests: a script that keeps a little
 * per request in a global table is noticed (its state is estimated every few thousand
 * route() calls) and reloaded from its file, which starts it from a fresh state, while
 * traffic goes on.
 */
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { loadConfig } from '../src/config/load.js';
import { STATE_CHECK_EVERY } from '../src/lua/script.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { ask, waitFor } from './helpers/reload.js';

const GROWS = `script = { state_size = 1048576 }
seen = {}
function route(host, path)
  seen[#seen + 1] = string.rep("x", 1000) .. #seen
  return { status = 200, body = tostring(#seen) }
end`;

describe('the size of a script\'s Lua state across requests', () => {
  let p: TestProxy | null = null;
  afterEach(async () => { await p?.close(); p = null; });

  it('is estimated, and a state past script.state_size is reported once; a steady one never is', async () => {
    const reports: number[] = [];
    const grows = loadConfig('grows.lua', { source: GROWS, onStateOversize: (bytes) => reports.push(bytes) });
    for (let i = 0; i < STATE_CHECK_EVERY * 3; i++) grows.route(Buffer.from('h'), Buffer.from('/'), null);
    await Promise.resolve();
    expect(reports.length).toBe(1);
    expect(reports[0]).toBeGreaterThan(1048576);
    expect(grows.script.stateBytes()).toBeGreaterThan(STATE_CHECK_EVERY * 1000);

    const steady = loadConfig('steady.lua', { source: 'script = { state_size = 1048576 }\nn = 0\nfunction route() n = n + 1 return { status = 200 } end', onStateOversize: (bytes) => reports.push(bytes) });
    for (let i = 0; i < STATE_CHECK_EVERY * 3; i++) steady.route(Buffer.from('h'), Buffer.from('/'), null);
    await Promise.resolve();
    expect(reports.length).toBe(1);
    expect(steady.script.stateBytes()).toBeLessThan(1048576);
  });

  it('gets the script reloaded from its file by the live proxy, which keeps serving', async () => {
    p = await startProxy(GROWS);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let last = 0;
    let failed = 0;
    for (let i = 0; i < STATE_CHECK_EVERY + 200; i += 4) {
      const replies = await Promise.all([0, 1, 2, 3].map(() => ask(p!.port, { agent })));
      for (const r of replies) {
        if (r.status !== 200) failed++;
        else last = Number(r.body);
      }
    }
    agent.destroy();
    expect(failed).toBe(0);
    await waitFor(() => p!.logs.some((l) => /reload: version 2 live \(state-size\)/.test(String(l.msg))), 5000, 'the reload');
    expect(p.logs.some((l) => l.level === 50 && /Lua state grew to about \d+ MB across requests, past script\.state_size/.test(String(l.msg)))).toBe(true);
    // the fresh state counts from the start again
    expect(last).toBeLessThan(STATE_CHECK_EVERY);
  }, 60_000);
});
