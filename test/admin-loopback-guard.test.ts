import { describe, it, expect, afterEach } from 'vitest';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { adminUrl, post } from './helpers/admin.js';

describe('a loopback admin listener without a token guards against local browsers', () => {
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
  });

  it('without a token, refuses a non-loopback Host header (DNS rebinding) and cross-origin POSTs', async () => {
    p = await startProxy('admin = { listen = "127.0.0.1:0" }\nfunction route(h, p) return nil end\n');
    const base = adminUrl(p);
    expect((await get(base + '/status')).status).toBe(200);
    expect((await get(base + '/status', { host: 'localhost' })).status).toBe(200);
    expect((await get(base + '/status', { host: 'evil.example.com' })).status).toBe(403);
    expect((await post(p, '/reload', { origin: 'http://evil.example.com' })).status).toBe(403);
    expect((await post(p, '/reload', { origin: base })).status).toBe(200);
  });
});
