/**
 * The backend read buffer is lent to a client write and must not be overwritten while it
 * is queued. Over TLS the write completes later than over TCP (a TLS socket keeps
 * reporting queued bytes until its next write), so this holds the HTTPS path to the same
 * promise as test/proxy-body-bytes-intact-under-backpressure: every byte, in order,
 * through a slow reader, response after response on one keep-alive connection. Small
 * pieces are copied rather than lent over TLS, so the read buffer is not replaced per
 * response.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { writeAsFastAsRead } from './helpers/http.js';

const SIZE = 6 * 1024 * 1024;
const body = crypto.randomBytes(SIZE);
const digest = crypto.createHash('sha256').update(body).digest('hex');
const small = crypto.randomBytes(1024);

describe('the backend read buffer over an HTTPS listener', () => {
  let origin: http.Server, p: TestProxy, ca: Issued;
  beforeAll(async () => {
    ca = await makeCA();
    const cert = await makeCert({ ca, names: ['a.example.com'] });
    origin = http.createServer((req, res) => {
      if (req.url === '/small') { res.writeHead(200, { 'content-length': small.length }); res.end(small); return; }
      res.writeHead(200, { 'content-length': SIZE });
      writeAsFastAsRead(res, body);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-tls-buf-'));
    fs.writeFileSync(path.join(dir, 'a.pem'), cert.chain ?? cert.cert);
    fs.writeFileSync(path.join(dir, 'a.key'), cert.key);
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "a.pem", key = "a.key" } }, default = "a.example.com" }
log = { access = false }
backends = { "http://127.0.0.1:${(origin.address() as AddressInfo).port}" }
function route(host, path) return proxy.hash(host) end`, { dir });
  });
  afterAll(async () => { await p?.close(); await new Promise((r) => origin.close(r)); });

  it('keeps every byte in order through a slow reader, on one keep-alive connection, response after response', async () => {
    const s = tls.connect({ host: '127.0.0.1', port: p.port, servername: 'a.example.com', ca: ca.cert });
    await new Promise((r, j) => { s.once('secureConnect', r); s.once('error', j); });
    let buf = Buffer.alloc(0);
    let reads = 0;
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (++reads % 3 === 0) { s.pause(); setTimeout(() => s.resume(), 1 + (reads % 4)); }
    });
    for (let i = 0; i < 3; i++) {
      buf = Buffer.alloc(0);
      s.write('GET /big HTTP/1.1\r\nHost: a.example.com\r\n\r\n');
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          const h = buf.indexOf('\r\n\r\n');
          if (h >= 0 && buf.length - h - 4 >= SIZE) { clearInterval(t); resolve(); }
        }, 5);
        setTimeout(() => { clearInterval(t); reject(new Error(`response ${i} incomplete: ${buf.length} bytes`)); }, 30_000);
      });
      const h = buf.indexOf('\r\n\r\n');
      expect(buf.subarray(0, 12).toString()).toBe('HTTP/1.1 200');
      expect(crypto.createHash('sha256').update(buf.subarray(h + 4, h + 4 + SIZE)).digest('hex')).toBe(digest);
    }
    s.destroy();
  }, 60_000);

  it('reads a keep-alive HTTPS client\'s small responses without a new 64 KiB read buffer each (they are copied, not lent)', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert });
    const once = () => new Promise<Buffer>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: p.port, path: '/small', servername: 'a.example.com', agent, headers: { host: 'a.example.com' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => resolve(Buffer.concat(parts)));
      }).on('error', reject);
    });
    for (let i = 0; i < 5; i++) await once(); // warm: the connections exist
    const spy = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      for (let i = 0; i < 100; i++) expect((await once()).equals(small)).toBe(true);
      // before: one per response (a TLS socket holds its last write until the next one)
      expect(spy.mock.calls.filter(([n]) => n === 64 * 1024).length).toBeLessThan(5);
    } finally {
      spy.mockRestore();
      agent.destroy();
    }
  });
});
