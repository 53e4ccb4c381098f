import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import http2 from 'node:http2';
import { makeCA, makeCert } from '../src/tls/self-signed.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { encodeProxyV2 } from '../src/http1/proxy-protocol.js';

describe('a TLS listener behind an L4 balancer (proxy_protocol = true, tls = true)', () => {
  let p: TestProxy;
  afterAll(async () => { await p?.close(); });

  it('reads the PROXY header in clear, then the TLS handshake, and route sees both', async () => {
    const ca = await makeCA();
    const a = await makeCert({ ca, names: ['a.example.com'] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-pp-tls-'));
    fs.writeFileSync(path.join(dir, 'a.pem'), a.chain ?? a.cert);
    fs.writeFileSync(path.join(dir, 'a.key'), a.key);
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true, proxy_protocol = true } }
tls = { certificates = { { cert = "a.pem", key = "a.key" } } }
backends = {}
function route(host, path, req) return { status = 200, body = req.client .. " " .. req.scheme .. " " .. req.tls_sni } end`, { dir });

    const raw = net.connect(p.port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    // the header and the ClientHello in one packet: the proxy must hand the rest to TLS
    raw.cork();
    raw.write(encodeProxyV2({ family: 'tcp4', source: '192.0.2.9', sourcePort: 4000, dest: '192.0.2.1', destPort: 443 }));
    const s = tls.connect({ socket: raw, servername: 'a.example.com', ca: ca.cert });
    process.nextTick(() => raw.uncork());
    await new Promise((r, j) => { s.once('secureConnect', r); s.once('error', j); });
    s.write('GET / HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n');
    const res = await new Promise<string>((resolve) => {
      let out = '';
      s.on('data', (d) => { out += d; });
      s.on('end', () => resolve(out));
    });
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    expect(res.slice(res.indexOf('\r\n\r\n') + 4)).toBe('192.0.2.9 https a.example.com');

    // the same over HTTP/2: the session keeps the address the PROXY header gave
    const raw2 = net.connect(p.port, '127.0.0.1');
    await new Promise((r) => raw2.once('connect', r));
    raw2.cork();
    raw2.write(encodeProxyV2({ family: 'tcp4', source: '192.0.2.77', sourcePort: 4001, dest: '192.0.2.1', destPort: 443 }));
    const session = http2.connect('https://a.example.com', { createConnection: () => tls.connect({ socket: raw2, servername: 'a.example.com', ca: ca.cert, ALPNProtocols: ['h2'] }) });
    process.nextTick(() => raw2.uncork());
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/' });
      let out = '';
      req.on('data', (d) => { out += d; });
      req.on('end', () => resolve(out));
      req.on('error', reject);
    });
    session.close();
    expect(body).toBe('192.0.2.77 https a.example.com');
  });
});
