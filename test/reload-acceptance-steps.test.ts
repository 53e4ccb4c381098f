import http from 'node:http';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { ask, attempts, nextResult, waitFor } from './helpers/reload.js';

// The steps of the hot-reload acceptance check, in-process: saves by rename under a
// keep-alive load, three of them refused, and not one request failed.
describe('saving config.lua by rename under keep-alive load', () => {
  let backends: TestBackend[] = [], p: TestProxy, agent: http.Agent;
  afterEach(async () => { agent?.destroy(); await p?.close(); await Promise.all(backends.map((x) => x.close())); });

  it('switches routing, refuses a syntax error, a load-time error and an unknown backend, then takes a good script', async () => {
    backends = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)));
    const head = `backends = { ${backends.map((b) => `{name="${b.name}", url="${b.url}"}`).join(', ')} }\n`;
    p = await startProxy(head + 'function route(h, p) return "a" end', { watch: true });

    agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let running = true;
    const load = { sent: 0, ok: 0, errors: [] as string[] };
    const worker = async () => {
      const deadline = Date.now() + 30_000;
      while (running && Date.now() < deadline) {
        load.sent++;
        try {
          const r = await ask(p.port, { agent });
          if (r.status === 200) load.ok++; else load.errors.push(`${r.status} ${r.body}`);
        } catch (e) { load.errors.push((e as Error).message); }
      }
    };
    const workers = Promise.all(Array.from({ length: 16 }, worker));
    const be = async () => (await ask(p.port)).backend;
    const step = async (route: string) => {
      const n = attempts(p);
      const before = load.sent;
      p.write(head + route);
      const r = await nextResult(p, n, 3000);
      await waitFor(() => load.sent >= before + 50, 10_000, 'load between saves');
      return r;
    };

    expect(await be()).toBe('a');
    expect(await step('function route(h, p) return "b" end')).toMatchObject({ ok: true, trigger: 'file' });
    expect(await be()).toBe('b');
    expect(await step('function route(h, p) return "c" en')).toMatchObject({ ok: false, code: 'LPX_CONFIG_SYNTAX' });
    expect(await be()).toBe('b');
    expect(await step('error("refuse me") function route(h, p) return "c" end')).toMatchObject({ ok: false, code: 'LPX_CONFIG_LOAD' });
    expect(await be()).toBe('b');
    expect(await step('function route(h, p) return "nosuch" end')).toMatchObject({ ok: false, code: 'LPX_ROUTE_NO_BACKEND' });
    expect(await be()).toBe('b');
    expect(await step('function route(h, p) return "c" end')).toMatchObject({ ok: true, version: 3 });
    expect(await be()).toBe('c');

    running = false;
    await workers;
    expect(load.errors).toEqual([]);
    expect(load.ok).toBe(load.sent);
    expect(p.running.reloader.counts).toEqual({ ok: 2, refused: 3 });
  });
});
