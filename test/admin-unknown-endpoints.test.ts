import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { ADMIN_ON_LOOPBACK, adminUrl, post, status } from './helpers/admin.js';

describe('admin API: wrong methods and unknown paths', () => {
  let backends: TestBackend[] = [];
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
    await Promise.all(backends.map((b) => b.close()));
    backends = [];
  });

  it('answers 405 for the wrong method and 404 with the endpoint list for an unknown path', async () => {
    p = await startProxy(ADMIN_ON_LOOPBACK + 'function route(h, p) return nil end\n');
    const wrong = await get(adminUrl(p) + '/reload');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    const unknown = await get(adminUrl(p) + '/nothing');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body.toString()).endpoints).toContain('GET /metrics');
  });
});
