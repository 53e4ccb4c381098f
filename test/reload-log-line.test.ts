import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

describe('the reload log line', () => {
  let a: TestBackend, b: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all([a, b].map((x) => x?.close())); });

  it('gives the version, the content hash, the duration and the share of recent hosts whose backend changed', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const list = luaBackends([a, b]);
    p = await startProxy(list + 'function route(h, p) return "a" end');
    // four distinct recent hosts, one of them seen on two paths and several times
    for (const host of ['h1.example.com', 'h2.example.com', 'h3.example.com', 'h4.example.com', 'h1.example.com']) await ask(p.port, { host });
    await ask(p.port, { host: 'h2.example.com', path: '/other' });

    p.write(list + 'function route(h, p) if h == "h1.example.com" then return "b" end return "a" end');
    const r = await p.running.reloader.reload('test');

    expect(r).toMatchObject({ ok: true, version: 2, sampled: 4, moved: 0.25 });
    expect(r.durationMs).toBeGreaterThan(0);
    const line = p.logs.find((l) => (l.reload as { ok?: boolean } | undefined)?.ok === true);
    expect(line).toBeDefined();
    expect(line!.reload).toMatchObject({ version: 2, hash: p.running.config.hash, moved: 0.25, sampled: 4, trigger: 'test' });
    expect(line!.msg).toContain(`version 2 live (test), hash ${p.running.config.hash}, ${r.durationMs} ms; 25.0% of 4 recent hosts change backend`);
    expect(line!.files).toEqual([p.file]);
  });
});
