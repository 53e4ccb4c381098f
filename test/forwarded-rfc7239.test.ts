/**
 * forwarded.forwarded = true sends an RFC 7239 Forwarded header: for= the client's
 * address (an IPv6 one bracketed and quoted, section 6), proto= the scheme it came by,
 * host= its Host (quoted when it is not a token, as with a port). It is off by default,
 * and then a client's own Forwarded is not passed on either.
 */
import net from 'node:net';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';

/** send `head` from `from` (an address to connect from and to) and return the Forwarded lines the backend got */
async function forwardedSeen(be: TestBackend, port: number, addr: string, head: string): Promise<string[]> {
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ port, host: addr }, () => s.write(head));
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { got += d; });
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.setTimeout(2000, () => s.destroy(new Error(`no answer within 2 s, got ${JSON.stringify(got)}`)));
  });
  expect(reply.startsWith('HTTP/1.1 200 ')).toBe(true);
  const h = be.seen.at(-1)!.rawHeaders;
  return h.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'forwarded' ? [h[i + 1]] : []));
}

const SCRIPT = 'health = { interval = 0 }\nfunction route() return "b" end\n';

describe('forwarded.forwarded (RFC 7239)', () => {
  let be: TestBackend;
  const proxies: TestProxy[] = [];
  beforeAll(async () => { be = await startBackend('b', (_req, res) => res.end('ok')); });
  afterAll(async () => { for (const p of proxies) await p.close(); await be.close(); });

  it('an IPv4 client: for= bare, host= a token as it is', async () => {
    const p = await startProxy(luaBackends([be]) + 'forwarded = { forwarded = true }\n' + SCRIPT);
    proxies.push(p);
    const seen = await forwardedSeen(be, p.port, '127.0.0.1', 'GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n');
    expect(seen).toEqual(['for=127.0.0.1;proto=http;host=app.example']);
  });

  it('a Host with a port is quoted; an HTTP/1.0 request without Host has no host=', async () => {
    const p = await startProxy(luaBackends([be]) + 'forwarded = { forwarded = true }\n' + SCRIPT);
    proxies.push(p);
    expect(await forwardedSeen(be, p.port, '127.0.0.1', 'GET / HTTP/1.1\r\nHost: app.example:8080\r\nConnection: close\r\n\r\n'))
      .toEqual(['for=127.0.0.1;proto=http;host="app.example:8080"']);
    expect(await forwardedSeen(be, p.port, '127.0.0.1', 'GET / HTTP/1.0\r\n\r\n')).toEqual(['for=127.0.0.1;proto=http']);
  });

  it('an IPv6 client: for= bracketed and quoted', async () => {
    const p = await startProxy(`listen = "[::1]:0"\n${luaBackends([be])}forwarded = { forwarded = true }\n${SCRIPT}`);
    proxies.push(p);
    const seen = await forwardedSeen(be, p.port, '::1', 'GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n');
    expect(seen).toEqual(['for="[::1]";proto=http;host=app.example']);
  });

  it('off by default: none is sent, and a client\'s own is not passed on', async () => {
    const p = await startProxy(luaBackends([be]) + SCRIPT);
    proxies.push(p);
    const seen = await forwardedSeen(be, p.port, '127.0.0.1', 'GET / HTTP/1.1\r\nHost: app.example\r\nForwarded: for=198.51.100.1\r\nConnection: close\r\n\r\n');
    expect(seen).toEqual([]);
  });
});
