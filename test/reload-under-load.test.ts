import http from 'node:http';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask, waitFor } from './helpers/reload.js';

const NAMES = ['a', 'b', 'c'];
const HOSTS = Array.from({ length: 6 }, (_, i) => `h${i}.example.com`);
/** the backend good version k sends host i to */
const choice = (k: number, i: number) => NAMES[(i + k) % NAMES.length];

describe('reloading many times under keep-alive load', () => {
  let backends: TestBackend[] = [], p: TestProxy, agent: http.Agent;
  afterEach(async () => { agent?.destroy(); await p?.close(); await Promise.all(backends.map((x) => x.close())); });

  it('fails no request and never answers from a backend the live script would not choose', async () => {
    backends = await Promise.all(NAMES.map((n) => startBackend(n)));
    const list = 'log = { access = false }\n' + luaBackends(backends);
    const good = (k: number) => list + `local map = { ${HOSTS.map((h, i) => `["${h}"] = "${choice(k, i)}"`).join(', ')} }\nfunction route(h, p) return map[h] end -- v${k}`;
    const bad = [
      list + 'function route(h, p) return "a" en',
      list + 'error("refuse me")\nfunction route(h, p) return "a" end',
      list + 'function route(h, p) return "nosuch" end',
      list + 'function route(h, p) local t = nil; return t.x end',
      list + 'timeouts = { conect = 1 }\nfunction route(h, p) return "a" end',
    ];
    p = await startProxy(good(0));

    // good version k is live from windows[k].from; it may still answer requests that arrived before windows[k+1].to
    const windows: Array<{ k: number; from: number; to: number }> = [{ k: 0, from: 0, to: 0 }];
    agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let reloading = true;
    const stats = { sent: 0, ok: 0, reused: 0, failed: [] as string[], wrong: [] as string[] };
    const worker = async (w: number) => {
      const deadline = Date.now() + 30_000;
      for (let n = 0; (reloading || n < 5) && stats.sent < 50_000 && Date.now() < deadline; n++) {
        const i = (w + n) % HOSTS.length;
        const sent = performance.now();
        stats.sent++;
        try {
          const r = await ask(p.port, { host: HOSTS[i], agent });
          const done = performance.now();
          if (r.reused) stats.reused++;
          if (r.status !== 200) { stats.failed.push(`${HOSTS[i]}: ${r.status} ${r.body}`); continue; }
          stats.ok++;
          const live = windows.filter((v, j) => v.from <= done && (j + 1 === windows.length || windows[j + 1].to >= sent));
          if (!live.some((v) => choice(v.k, i) === r.backend)) stats.wrong.push(`${HOSTS[i]} -> ${r.backend}; live versions ${live.map((v) => v.k)}`);
        } catch (e) {
          stats.failed.push(`${HOSTS[i]}: ${(e as Error).message}`);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));

    let k = 0;
    let refusedExpected = 0;
    for (let step = 0; step < 30; step++) {
      const floor = stats.sent + 20; // requests flow between every two reloads
      await waitFor(() => stats.sent >= floor, 10_000, 'requests between reloads');
      const isBad = step % 3 === 1;
      p.write(isBad ? bad[step % bad.length] : good(k + 1));
      const from = performance.now();
      const r = await p.running.reloader.reload('test');
      const to = performance.now();
      if (isBad) {
        refusedExpected++;
        expect(r.ok, `step ${step} should be refused`).toBe(false);
      } else {
        expect(r, `step ${step}`).toMatchObject({ ok: true });
        k++;
        windows.push({ k, from, to });
      }
    }
    reloading = false;
    await load;
    if (process.env.LPX_TEST_VERBOSE) console.log(stats.sent, stats.reused, p.running.reloader.history.map((r) => r.durationMs));

    expect(stats.failed).toEqual([]);
    expect(stats.wrong).toEqual([]);
    expect(p.running.reloader.counts).toEqual({ ok: 30 - refusedExpected, refused: refusedExpected });
    expect(stats.ok).toBe(stats.sent);
    expect(stats.sent).toBeGreaterThanOrEqual(600);
    expect(stats.reused / stats.sent).toBeGreaterThan(0.9); // the connections were kept alive across reloads
    // every good version really served: the last one answers now
    for (const [i, h] of HOSTS.entries()) expect((await ask(p.port, { host: h })).backend).toBe(choice(k, i));
  });
});
