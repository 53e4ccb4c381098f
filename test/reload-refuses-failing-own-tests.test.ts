import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

describe('a script whose own tests fail', () => {
  let a: TestBackend, b: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all([a, b].map((x) => x?.close())); });

  it('is refused with the failing row\'s file:line, and the old script keeps serving; a passing one goes live', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const list = luaBackends([a, b]);
    p = await startProxy(list + 'function route(h, p) return "a" end');
    expect((await ask(p.port, { host: 'shop.example.com' })).backend).toBe('a');

    p.write(list + 'tests = {\n  { "shop.example.com", "/", "a" },\n}\nfunction route(h, p) return "b" end');
    const r = await p.running.reloader.reload('test');
    expect(r).toMatchObject({ ok: false, code: 'LPX_RELOAD_REFUSED', version: 1 });
    expect(r.error).toMatch(/config\.lua:\d+: own test failed: route\("shop\.example\.com", "\/"\)/);
    expect((await ask(p.port, { host: 'shop.example.com' })).backend).toBe('a');

    p.write(list + 'tests = {\n  { "shop.example.com", "/", "b" },\n}\nfunction route(h, p) return "b" end');
    expect(await p.running.reloader.reload('test')).toMatchObject({ ok: true, version: 2 });
    expect((await ask(p.port, { host: 'shop.example.com' })).backend).toBe('b');
  });
});
