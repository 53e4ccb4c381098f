import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

describe('the dry run of a new script', () => {
  let a: TestBackend, b: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all([a, b].map((x) => x?.close())); });

  it('gives route() a request to read, so a script that reads req is not refused', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const list = luaBackends([a, b]);
    p = await startProxy(list + 'function route(h, p) return "a" end');
    await ask(p.port, { path: '/page' });

    p.write(list + 'function route(h, p, req) if req.method:lower() == "get" and req.headers.host:find("example") then return "b" end return "a" end');
    const r = await p.running.reloader.reload('test');

    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect((await ask(p.port)).backend).toBe('b');
  });
});
