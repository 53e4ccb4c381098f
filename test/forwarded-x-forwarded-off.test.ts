/**
 * forwarded.x_forwarded = false: the backend gets no X-Forwarded-For, -Proto or -Host at
 * all, neither the proxy's nor the ones a client sent (which could be forged). With the
 * default (true) it gets the proxy's.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';

/** the X-Forwarded-* header lines the backend got for a request that carries forged ones */
async function xForwardedSeen(p: TestProxy, be: TestBackend): Promise<string[]> {
  const reply = await raw(p.port, 'GET / HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-For: 198.51.100.1\r\n'
    + 'X-Forwarded-Proto: https\r\nX-Forwarded-Host: spoofed.example\r\nConnection: close\r\n\r\n');
  expect(reply.startsWith('HTTP/1.1 200 ')).toBe(true);
  const h = be.seen.at(-1)!.rawHeaders;
  return h.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase().startsWith('x-forwarded-') ? [`${v.toLowerCase()}: ${h[i + 1]}`] : []));
}

describe('forwarded.x_forwarded', () => {
  let be: TestBackend, off: TestProxy, on: TestProxy;
  beforeAll(async () => {
    be = await startBackend('b', (_req, res) => res.end('ok'));
    const script = 'health = { interval = 0 }\nfunction route() return "b" end\n';
    off = await startProxy(luaBackends([be]) + 'forwarded = { x_forwarded = false }\n' + script);
    on = await startProxy(luaBackends([be]) + script);
  });
  afterAll(async () => { await off.close(); await on.close(); await be.close(); });

  it('false sends none of them', async () => {
    expect(await xForwardedSeen(off, be)).toEqual([]);
  });

  it('by default the proxy sends its own three in place of the client\'s', async () => {
    expect(await xForwardedSeen(on, be)).toEqual(['x-forwarded-for: 127.0.0.1', 'x-forwarded-proto: http', 'x-forwarded-host: app.example']);
  });
});
