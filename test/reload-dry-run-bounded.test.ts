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

    // a route that fails for all but the newest 64 hosts: replaying any older one refuses the script
    p.write(list + 'seen = {}\nfunction route(h, p) local n = tonumber(h:match("^h(%d+)")) if n and n < 236 then error("old host " .. n) end seen[#seen + 1] = n return "b" end');
    const r = await p.running.reloader.reload('test');
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.sampled).toBeGreaterThan(0);
    expect(r.sampled).toBeLessThanOrEqual(64);
    // every host it compared moved from a to b
    expect(r.moved).toBe(1);
  });
});
