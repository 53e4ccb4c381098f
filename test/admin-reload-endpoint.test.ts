import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { ADMIN_ON_LOOPBACK, adminUrl, post, status } from './helpers/admin.js';

describe('admin API: POST /reload', () => {
  let backends: TestBackend[] = [];
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
    await Promise.all(backends.map((b) => b.close()));
    backends = [];
  });

  it('POST /reload answers the ReloadResult: 200 when the new script is live, 422 when refused', async () => {
    const a = await startBackend('a');
    backends = [a];
    const script = (ret: string) => ADMIN_ON_LOOPBACK + luaBackends([a]) + `function route(h, p) return ${ret} end\n`;
    p = await startProxy(script('"a"'));

    p.write(script('{ status = 200, body = "v2" }'));
    const ok = await post(p, '/reload');
    expect(ok.status).toBe(200);
    const r = JSON.parse(ok.body.toString());
    expect(r).toMatchObject({ ok: true, version: 2, trigger: 'admin' });
    expect((await get(p.url + '/', { host: 'x.example.com' })).body.toString()).toBe('v2');

    p.write(script('"a"') + 'function route(h, p) return "a" ) end\n');
    const bad = await post(p, '/reload');
    expect(bad.status).toBe(422);
    const b = JSON.parse(bad.body.toString());
    expect(b.ok).toBe(false);
    expect(b.version).toBe(2);
    expect(b.error).toMatch(/config\.lua:\d+/);
    expect((await get(p.url + '/', { host: 'x.example.com' })).body.toString()).toBe('v2');
  });
});
