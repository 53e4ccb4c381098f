import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { ADMIN_ON_LOOPBACK, adminUrl, post, status } from './helpers/admin.js';

describe('admin API: draining and enabling backends', () => {
  let backends: TestBackend[] = [];
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
    await Promise.all(backends.map((b) => b.close()));
    backends = [];
  });

  it('drain stops new requests to a backend, enable brings it back, an unknown name is 404', async () => {
    const [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    backends = [a, b];
    p = await startProxy(ADMIN_ON_LOOPBACK + luaBackends([a, b]) + 'function route(h, p) return proxy.hash(h) end\n');
    const hosts = Array.from({ length: 20 }, (_, i) => `h${i}.example.com`);
    const spread = async () => {
      const seen = new Set<string>();
      for (const h of hosts) seen.add(String((await get(p!.url + '/', { host: h })).headers['x-backend']));
      return seen;
    };
    expect(await spread()).toEqual(new Set(['a', 'b']));

    const d = await post(p, '/backends/a/drain');
    expect(d.status).toBe(200);
    expect(JSON.parse(d.body.toString()).backend).toMatchObject({ name: 'a', status: 'drained' });
    expect(await spread()).toEqual(new Set(['b']));
    expect((await status(p)).backends.find((x: { name: string }) => x.name === 'a').status).toBe('drained');

    expect((await post(p, '/backends/a/enable')).status).toBe(200);
    expect(await spread()).toEqual(new Set(['a', 'b']));

    const missing = await post(p, '/backends/nope/drain');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toMatchObject({ error: expect.stringContaining('nope'), backends: ['a', 'b'] });
  });
});
