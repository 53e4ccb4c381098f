import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask, waitFor, connectionsOf } from './helpers/reload.js';

// pooled connections would otherwise stay open for backend_idle seconds
const SETTINGS = 'timeouts = { backend_idle = 60 }\n';

describe('backends removed and added by a reload', () => {
  let a: TestBackend, b: TestBackend, c: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all([a, b, c].map((x) => x?.close())); });

  it('sends nothing new to a removed backend, closes its pooled connections once drained, and uses an added one at once', async () => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    p = await startProxy(SETTINGS + luaBackends([a, b]) + 'function route(h, p) if p:find("^/slow") then return "b" end return proxy.round_robin() end');
    const seen = new Set<string | null>();
    for (let i = 0; i < 4; i++) seen.add((await ask(p.port, { path: `/${i}` })).backend);
    expect(seen).toEqual(new Set(['a', 'b']));
    expect(await connectionsOf(b.server)).toBeGreaterThan(0); // an idle pooled connection

    const slow = ask(p.port, { path: '/slow?ms=400' });
    await waitFor(() => b.seen.some((s) => s.url.startsWith('/slow')), 3000, 'the slow request to reach b');
    const toB = b.seen.length;

    p.write(SETTINGS + luaBackends([a, c]) + 'function route(h, p) return proxy.round_robin() end');
    expect((await p.running.reloader.reload('test')).ok).toBe(true);

    const after = new Set<string | null>();
    for (let i = 0; i < 6; i++) after.add((await ask(p.port, { path: `/${i}` })).backend);
    expect(after).toEqual(new Set(['a', 'c']));
    expect(b.seen.length).toBe(toB);
    expect(await slow).toMatchObject({ status: 200, backend: 'b' });
    await waitFor(async () => (await connectionsOf(b.server)) === 0, 3000, 'the removed backend\'s pooled connections to close');
    expect(await connectionsOf(a.server)).toBeGreaterThan(0); // the kept backend keeps its pool
  });
});
