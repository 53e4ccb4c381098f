import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

describe('the dry run of a new script', () => {
  let a: TestBackend, b: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all([a, b].map((x) => x?.close())); });

  it('routes only the newest few distinct recent requests, so a reload does not stall traffic', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const list = 'log = { access = false }\n' + luaBackends([a, b]);
    p = await startProxy(list + 'function route(h, p) return "a" end');
    for (let i = 0; i < 300; i++) await ask(p.port, { host: `h${i}.example.com` });

    p.write(list + 'seen = {}\nfunction route(h, p) seen[#seen + 1] = tonumber(h:match("^h(%d+)")) return "b" end');
    const r = await p.running.reloader.reload('test');
    expect(r.ok).toBe(true);

    const seen = p.running.config.script.global('seen') as number[];
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThanOrEqual(64);
    expect(r.sampled).toBe(seen.length);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(300 - seen.length);
  });
});
