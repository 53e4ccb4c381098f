/**
 * A backend with `proxy_protocol = "v1" | "v2"` gets a PROXY header first on each
 * connection, naming the request's client (its address and port) and the proxy's address
 * and port of the client's connection. Such a connection serves one request only: two
 * requests, even on one client connection, come on two backend connections, each with its
 * own header. Over https the header goes before the TLS handshake.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parseProxyHeader, type ProxyHeader } from '../src/http1/proxy-protocol.js';
import { makeCA, makeCert } from '../src/tls/self-signed.js';
import { startRawServer, Wire } from './helpers/wire.js';
import { startProxy } from './helpers/proxy.js';

/** a backend that reads the PROXY header of each connection, then answers each request with the connection's number */
async function startPPBackend() {
  const headers: ProxyHeader[] = [];
  const requests: number[] = [];
  const server = await startRawServer((w) => {
    void (async () => {
      let parsed: ReturnType<typeof parseProxyHeader> = null;
      await w.until(() => (parsed = parseProxyHeader(w.buf)) !== null, 5000, 'a PROXY header');
      w.buf = w.buf.subarray(parsed!.length);
      const n = headers.push(parsed!.header) - 1;
      requests[n] = 0;
      for (;;) {
        await w.request();
        requests[n]++;
        w.write(`HTTP/1.1 200 OK\r\ncontent-length: ${String(n).length}\r\n\r\n${n}`); // keep-alive: the proxy could reuse it, and must not
      }
    })().catch(() => {});
  });
  return { ...server, headers, requests };
}

async function ask(w: Wire, p: string): Promise<number> {
  w.write(`GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const r = await w.response();
  expect(r.status).toBe(200);
  return Number(r.body.toString());
}

describe('PROXY protocol to a backend', () => {
  for (const version of ['v1', 'v2'] as const) {
    it(`${version}: each request comes on its own connection with its client's address and port`, async () => {
      const b = await startPPBackend();
      const p = await startProxy(`backends = { { name = "pp", url = "${b.url}", proxy_protocol = "${version}" } }
function route(host, path) return "pp" end`);
      const one = await Wire.open(p.port);
      const two = await Wire.open(p.port);
      try {
        const first = await ask(one, '/1');
        const second = await ask(two, '/2');
        const again = await ask(one, '/3'); // the same client connection: still a new backend connection
        expect([first, second, again]).toEqual([0, 1, 2]);
        expect(b.requests).toEqual([1, 1, 1]);
        const expected = (w: Wire) => ({ version: Number(version[1]), command: 'proxy', family: 'tcp4', source: '127.0.0.1', sourcePort: w.socket.localPort, dest: '127.0.0.1', destPort: p.port });
        expect(b.headers).toEqual([expected(one), expected(two), expected(one)]);
        expect(b.headers[0].sourcePort).not.toBe(b.headers[1].sourcePort);
        // and each backend connection is closed once its response is done
        for (const c of b.conns) expect(await c.closesWithin(2000)).toBe(true);
      } finally {
        one.close();
        two.close();
        await p.close();
        await b.close();
      }
    });
  }

  it('behind a PROXY listener, passes on the address and port the balancer told', async () => {
    const b = await startPPBackend();
    const p = await startProxy(`listen = { { address = "127.0.0.1:0", proxy_protocol = true } }
backends = { { name = "pp", url = "${b.url}", proxy_protocol = "v2" } }
function route(host, path) return "pp" end`);
    const w = await Wire.open(p.port);
    try {
      const { encodeProxyV1 } = await import('../src/http1/proxy-protocol.js');
      w.socket.write(encodeProxyV1({ family: 'tcp4', source: '203.0.113.9', sourcePort: 40001, dest: '198.51.100.2', destPort: 443 }));
      expect(await ask(w, '/')).toBe(0);
      expect(b.headers[0]).toMatchObject({ source: '203.0.113.9', sourcePort: 40001 });
    } finally {
      w.close();
      await p.close();
      await b.close();
    }
  });

  it('over https, sends the header before the TLS handshake', async () => {
    const ca = await makeCA();
    const cert = await makeCert({ ca, names: ['pp.internal'] });
    const ctx = tls.createSecureContext({ cert: cert.chain ?? cert.cert, key: cert.key });
    const seen: ProxyHeader[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((raw) => {
      sockets.add(raw);
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const r = parseProxyHeader(buf);
        if (r === null) return;
        raw.off('data', onData);
        seen.push(r.header);
        raw.pause();
        if (r.length < buf.length) raw.unshift(buf.subarray(r.length));
        const t = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
        let req = '';
        t.on('data', (c: Buffer) => {
          req += c.toString('latin1');
          if (req.includes('\r\n\r\n')) t.end('HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecure');
        });
        t.on('error', () => {});
      };
      raw.on('data', onData);
      raw.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-pp-tls-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    const p = await startProxy(`backends = { { name = "pp", url = "https://127.0.0.1:${port}", ca = "ca.pem", servername = "pp.internal", proxy_protocol = "v2" } }
function route(host, path) return "pp" end`, { dir });
    const w = await Wire.open(p.port);
    try {
      w.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response();
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('secure');
      expect(seen).toEqual([{ version: 2, command: 'proxy', family: 'tcp4', source: '127.0.0.1', sourcePort: w.socket.localPort, dest: '127.0.0.1', destPort: p.port }]);
    } finally {
      w.close();
      await p.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
