import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

// Loading a script links its backend set to the live backend states before it is
// validated; a refused script must leave the live set exactly as it was.
describe('a refused script changes nothing in the live backend set', () => {
  let a: TestBackend, b: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all([a, b].map((x) => x?.close())); });

  it('keeps the live weights, and health changes still steer the live consistent hash', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    p = await startProxy(luaBackends([a, b]) + 'function route(h, p) return proxy.hash(h) end');
    const hosts = Array.from({ length: 24 }, (_, i) => `h${i}.example.com`);
    const first = new Map<string, string | null>();
    for (const h of hosts) first.set(h, (await ask(p.port, { host: h })).backend);
    expect(new Set(first.values())).toEqual(new Set(['a', 'b']));

    // loads fine, sets a's weight, then fails the dry run
    p.write(luaBackends([{ ...a, weight: 50 }, b]) + 'function route(h, p) return "nosuch" end');
    expect((await p.running.reloader.reload('test')).ok).toBe(false);

    const live = p.running.config.backendSet;
    expect(live.byName.get('a')!.weight).toBe(1);
    for (const h of hosts) expect((await ask(p.port, { host: h })).backend).toBe(first.get(h));

    live.byName.get('b')!.setHealthy(false);
    for (const h of hosts) expect((await ask(p.port, { host: h })).backend).toBe('a');
  });
});
