import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import net from 'node:net';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { scrape, value } from './helpers/admin.js';
import { encodeProxyV1, encodeProxyV2 } from '../src/http1/proxy-protocol.js';

/** write `bytes` on a fresh connection and collect what comes back until the proxy closes it */
function exchange(port: number, bytes: Buffer[], gapMs = 0): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
    s.on('error', () => {});
    s.on('connect', async () => {
      for (const b of bytes) {
        s.write(b);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
    setTimeout(() => s.destroy(), 3000);
  });
}

const REQ = Buffer.from('GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
const body = (res: string) => res.slice(res.indexOf('\r\n\r\n') + 4);

describe('a listener with proxy_protocol = true', () => {
  let p: TestProxy;
  beforeAll(async () => {
    p = await startProxy(`listen = { { address = "127.0.0.1:0", proxy_protocol = true } }
admin = { listen = "127.0.0.1:0" }
backends = {}
function route(host, path, req) return { status = 200, body = req.client } end`);
  });
  afterAll(async () => { await p?.close(); });

  it('takes the client address from a v1 header (sent in pieces, with the request in the same packet as its end)', async () => {
    const h = encodeProxyV1({ family: 'tcp4', source: '203.0.113.7', sourcePort: 5555, dest: '198.51.100.1', destPort: 80 });
    const res = await exchange(p.port, [h.subarray(0, 10), Buffer.concat([h.subarray(10), REQ])], 20);
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    expect(body(res)).toBe('203.0.113.7');
  });

  it('takes it from a v2 header, IPv6 too', async () => {
    const h = encodeProxyV2({ family: 'tcp6', source: '2001:db8::7', sourcePort: 5555, dest: '2001:db8::1', destPort: 443 });
    expect(body(await exchange(p.port, [Buffer.concat([h, REQ])]))).toBe('2001:db8::7');
  });

  it('closes a connection without a header, or with a forged one, without answering, and counts it', async () => {
    const before = value(await scrape(p), 'luaproxy_connections_refused_total', { reason: 'proxy_protocol' });
    expect(await exchange(p.port, [REQ])).toBe('');
    expect(await exchange(p.port, [Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\n'), REQ])).toBe('');
    await new Promise((r) => setTimeout(r, 50));
    expect(value(await scrape(p), 'luaproxy_connections_refused_total', { reason: 'proxy_protocol' }) - before).toBe(2);
  });
});
