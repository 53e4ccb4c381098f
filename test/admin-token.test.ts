import { describe, it, expect, afterEach } from 'vitest';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { adminUrl, post } from './helpers/admin.js';
import { isLpxError } from '../src/core/errors.js';

describe('admin token and who may call the admin listener', () => {
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
  });

  it('requires Authorization: Bearer <admin.token> on every endpoint but the page shell', async () => {
    p = await startProxy('admin = { listen = "127.0.0.1:0", token = "s3cret-token" }\nfunction route(h, p) return nil end\n');
    const base = adminUrl(p);
    for (const path of ['/metrics', '/status']) {
      const none = await get(base + path);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect((await get(base + path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await get(base + path, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    }
    expect((await post(p, '/reload')).status).toBe(401);
    expect((await post(p, '/backends/x/drain')).status).toBe(401);
    const page = await get(base + '/');
    expect(page.status).toBe(200);
    expect(page.body.toString()).not.toContain('s3cret-token');
  });

  it('refuses to start an admin listener beyond loopback without a token', async () => {
    const err = await startProxy('admin = { listen = "0.0.0.0:0" }\nfunction route(h, p) return nil end\n').then(
      (started) => { p = started; return null; },
      (e: unknown) => e,
    );
    expect(isLpxError(err, 'LPX_ADMIN_INSECURE')).toBe(true);
    expect((err as Error).message).toMatch(/token/);
  });
});
