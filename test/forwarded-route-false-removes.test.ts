/**
 * A route decides per request about the proxy's forwarded headers: a value in its
 * `headers` replaces the proxy's X-Forwarded-For or Forwarded (and what the client sent),
 * `false` keeps the header from being sent at all. With a family turned off in the
 * settings, a route's value is still sent.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';

const ROUTE = `health = { interval = 0 }
function route(host, path)
  if path == "/set" then
    return { backend = "b", headers = { ["X-Forwarded-For"] = "203.0.113.9", Forwarded = "for=203.0.113.9;proto=https" } }
  end
  if path == "/remove" then
    return { backend = "b", headers = { ["x-forwarded-for"] = false, forwarded = false } }
  end
  return "b"
end
`;

/** the values of `name` the backend got on its last request, in order */
function values(be: TestBackend, name: string): string[] {
  const rawHeaders = be.seen.at(-1)!.rawHeaders;
  return rawHeaders.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name ? [rawHeaders[i + 1]] : []));
}

async function send(p: TestProxy, path: string): Promise<void> {
  const reply = await raw(p.port, `GET ${path} HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-For: 198.51.100.1\r\nForwarded: for=198.51.100.1\r\nConnection: close\r\n\r\n`);
  expect(reply.startsWith('HTTP/1.1 200 ')).toBe(true);
}

describe('a route\'s x-forwarded-for and forwarded headers', () => {
  let be: TestBackend, on: TestProxy, off: TestProxy;
  beforeAll(async () => {
    be = await startBackend('b', (_req, res) => res.end('ok'));
    on = await startProxy(luaBackends([be]) + 'forwarded = { forwarded = true }\n' + ROUTE);
    off = await startProxy(luaBackends([be]) + 'forwarded = { x_forwarded = false, forwarded = false }\n' + ROUTE);
  });
  afterAll(async () => { await on.close(); await off.close(); await be.close(); });

  it('without one, the proxy sends its own', async () => {
    await send(on, '/plain');
    expect(values(be, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(values(be, 'forwarded')).toEqual(['for=127.0.0.1;proto=http;host=app.example']);
  });

  it('a value replaces the proxy\'s: exactly one, the script\'s', async () => {
    await send(on, '/set');
    expect(values(be, 'x-forwarded-for')).toEqual(['203.0.113.9']);
    expect(values(be, 'forwarded')).toEqual(['for=203.0.113.9;proto=https']);
  });

  it('false sends none, neither the proxy\'s nor the client\'s', async () => {
    await send(on, '/remove');
    expect(values(be, 'x-forwarded-for')).toEqual([]);
    expect(values(be, 'forwarded')).toEqual([]);
    // the other X-Forwarded-* are still the proxy's
    expect(values(be, 'x-forwarded-proto')).toEqual(['http']);
  });

  it('a value is sent even with both families turned off in the settings', async () => {
    await send(off, '/set');
    expect(values(be, 'x-forwarded-for')).toEqual(['203.0.113.9']);
    expect(values(be, 'forwarded')).toEqual(['for=203.0.113.9;proto=https']);
    await send(off, '/plain');
    expect(values(be, 'x-forwarded-for')).toEqual([]);
    expect(values(be, 'forwarded')).toEqual([]);
  });
});
