import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

describe('backends a reload keeps', () => {
  let a: TestBackend, b: TestBackend, c: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all([a, b, c].map((x) => x?.close())); });

  it('keep their counters and health when name and URL stay the same, and start fresh when the URL changes', async () => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    p = await startProxy(luaBackends([a, b]) + 'function route(h, p) return proxy.hash(h) end');
    for (let i = 0; i < 10; i++) await ask(p.port, { host: `h${i}.example.com` });
    const before = p.running.config.backendSet;
    const aState = before.byName.get('a')!;
    const requests = aState.requests;
    expect(requests).toBeGreaterThan(0);
    before.byName.get('b')!.setHealthy(false);

    // a stays, b keeps its name but moves to c's URL
    p.write(luaBackends([a, { name: 'b', url: c.url }]) + 'function route(h, p) return proxy.hash(h) end');
    expect((await p.running.reloader.reload('test')).ok).toBe(true);
    const after = p.running.config.backendSet;
    expect(after).not.toBe(before);
    expect(after.byName.get('a')).toBe(aState);
    expect(after.byName.get('a')!.requests).toBe(requests);
    expect(after.byName.get('b')!.healthy).toBe(true); // a new backend at a new URL starts healthy

    after.byName.get('a')!.setHealthy(false);
    p.write(luaBackends([a, { name: 'b', url: c.url }]) + 'function route(h, p) return proxy.hash(h) end -- v3');
    expect((await p.running.reloader.reload('test')).ok).toBe(true);
    expect(p.running.config.backendSet.byName.get('a')!.healthy).toBe(false);
    for (let i = 0; i < 10; i++) expect((await ask(p.port, { host: `h${i}.example.com` })).backend).toBe('c');
    expect(p.running.config.backendSet.byName.get('a')!.requests).toBe(requests);
  });
});
