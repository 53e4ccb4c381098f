/**
 * forwarded.trust: the X-Forwarded-For and Forwarded a client sends are extended only
 * when the client is a trusted peer (an address or CIDR of the list); anyone else gets
 * them replaced by the proxy's own, so a client cannot forge the address the backend
 * sees. The default list is empty: nobody is trusted.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';

/** what the backend got in X-Forwarded-For and Forwarded for a request from 127.0.0.1 that carries forged ones (two lines each) */
async function forwardedSeen(p: TestProxy, be: TestBackend): Promise<{ xff: string[]; fwd: string[] }> {
  const reply = await raw(p.port, 'GET / HTTP/1.1\r\nHost: app.example\r\n'
    + 'X-Forwarded-For: 198.51.100.1\r\nx-forwarded-for: 198.51.100.2\r\n'
    + 'Forwarded: for=198.51.100.1\r\nforwarded: for="[2001:db8::2]"\r\nConnection: close\r\n\r\n');
  expect(reply.startsWith('HTTP/1.1 200 ')).toBe(true);
  const h = be.seen.at(-1)!.rawHeaders;
  const of = (name: string) => h.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name ? [h[i + 1]] : []));
  return { xff: of('x-forwarded-for'), fwd: of('forwarded') };
}

const OWN = 'for=127.0.0.1;proto=http;host=app.example';

describe('forwarded.trust', () => {
  let be: TestBackend;
  const proxies: TestProxy[] = [];
  const proxy = async (settings: string) => {
    const p = await startProxy(`${luaBackends([be])}health = { interval = 0 }\n${settings}\nfunction route() return "b" end\n`);
    proxies.push(p);
    return p;
  };
  beforeAll(async () => { be = await startBackend('b', (_req, res) => res.end('ok')); });
  afterAll(async () => { for (const p of proxies) await p.close(); await be.close(); });

  it('by default nobody is trusted: a client\'s forged headers are replaced', async () => {
    const p = await proxy('forwarded = { forwarded = true }');
    expect(await forwardedSeen(p, be)).toEqual({ xff: ['127.0.0.1'], fwd: [OWN] });
  });

  it('a client outside the list gets them replaced', async () => {
    const p = await proxy('forwarded = { forwarded = true, trust = { "10.0.0.0/8", "::1" } }');
    expect(await forwardedSeen(p, be)).toEqual({ xff: ['127.0.0.1'], fwd: [OWN] });
  });

  it('a peer inside a trusted CIDR gets them extended', async () => {
    const p = await proxy('forwarded = { forwarded = true, trust = { "10.0.0.0/8", "127.0.0.0/8" } }');
    expect(await forwardedSeen(p, be)).toEqual({
      xff: ['198.51.100.1, 198.51.100.2, 127.0.0.1'],
      fwd: [`for=198.51.100.1, for="[2001:db8::2]", ${OWN}`],
    });
  });

  it('a single trusted address works as well as a CIDR', async () => {
    const p = await proxy('forwarded = { trust = { "127.0.0.1" } }');
    expect((await forwardedSeen(p, be)).xff).toEqual(['198.51.100.1, 198.51.100.2, 127.0.0.1']);
  });
});
