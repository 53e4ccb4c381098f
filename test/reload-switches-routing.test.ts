import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

describe('a reload switches routing', () => {
  let a: TestBackend, b: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all([a, b].map((x) => x?.close())); });

  it('sends the next request to the backend the new script chooses, with a new version and hash', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const list = luaBackends([a, b]);
    p = await startProxy(list + 'function route(h, p) return "a" end');
    expect((await ask(p.port)).backend).toBe('a');
    const before = p.running.config;

    p.write(list + 'function route(h, p) return "b" end');
    const r = await p.running.reloader.reload('test');

    expect(r).toMatchObject({ ok: true, version: 2, trigger: 'test' });
    expect(r.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(r.hash).not.toBe(before.hash);
    expect(p.running.config).not.toBe(before);
    expect((await ask(p.port)).backend).toBe('b');
  });
});
