/**
 * Regression (issue #8, found by the reliability suite): `/x/../admin` and `/%61dmin`
 * passed a script's `^/admin` check and reached the backend, which may serve /admin.
 * Dot-segments and percent-encoded unreserved characters are normalized (RFC 3986 6.2.2)
 * before route() runs, and the backend gets the same normalized path.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';
import { normalizePath } from '../src/core/path.js';

describe('request paths are normalized before route sees them', () => {
  let a: TestBackend, p: TestProxy;
  beforeAll(async () => {
    a = await startBackend('a');
    p = await startProxy(luaBackends([a]) + 'function route(h, path) if path:find("^/admin") then return { status = 403 } end return "a" end\n');
  });
  afterAll(async () => { await p.close(); await a.close(); });

  it('normalizes like RFC 3986 6.2.2', () => {
    expect(normalizePath('/x/../admin')).toBe('/admin');
    expect(normalizePath('/./a/./b/')).toBe('/a/b/');
    expect(normalizePath('/a/b/..')).toBe('/a/');
    expect(normalizePath('/../../a')).toBe('/a');
    expect(normalizePath('/%61dmin/%2e%2E/b')).toBe('/b');
    expect(normalizePath('/a%2fb%20c%7e')).toBe('/a%2Fb%20c~');
    expect(normalizePath('/a/.hidden/..x')).toBe('/a/.hidden/..x');
  });

  it('answers /x/../admin and /%61dmin as /admin, and forwards the normalized path', async () => {
    for (const target of ['/x/../admin', '/%61dmin', '/./x/%2e%2e/admin']) {
      const reply = await raw(p.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    }
    expect(a.seen).toHaveLength(0);
    await raw(p.port, 'GET /a/./b/../c?q=/../z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(a.seen[0].url).toBe('/a/c?q=/../z');
  });
});
