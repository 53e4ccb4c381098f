/**
 * The proxy reads each backend connection into one reused buffer and writes slices of it
 * to the client. When a client write is still queued (the client reads slower than the
 * backend sends), that buffer must not be reused for the next read, or queued bytes would
 * be overwritten before they reach the client. Random bytes (a repeating pattern could
 * hide an overwrite by data from a later read) through a client that keeps pausing.
 */
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { writeAsFastAsRead } from './helpers/http.js';

const SIZE = 24 * 1024 * 1024;
const body = crypto.randomBytes(SIZE);
const digest = crypto.createHash('sha256').update(body).digest('hex');

/** GET over a raw socket that pauses for a few ms every few reads; returns the body's sha256 */
function slowGet(port: number, path: string): Promise<{ status: number; sha: string; length: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let reads = 0;
    s.on('data', (d) => {
      chunks.push(d);
      if (++reads % 3 === 0) { s.pause(); setTimeout(() => s.resume(), 1 + (reads % 4)); }
    });
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      const headEnd = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, headEnd).toString('latin1');
      let data = all.subarray(headEnd + 4);
      if (/transfer-encoding: chunked/i.test(head)) {
        const out: Buffer[] = [];
        let i = 0;
        for (;;) {
          const le = data.indexOf('\r\n', i);
          const n = parseInt(data.subarray(i, le).toString('latin1'), 16);
          if (n === 0) break;
          out.push(data.subarray(le + 2, le + 2 + n));
          i = le + 2 + n + 2;
        }
        data = Buffer.concat(out);
      }
      resolve({ status: Number(head.slice(9, 12)), sha: crypto.createHash('sha256').update(data).digest('hex'), length: data.length });
    });
    s.on('error', reject);
    s.write(`GET ${path} HTTP/1.1\r\nHost: big.example\r\nConnection: close\r\n\r\n`);
  });
}

describe('response bytes stay intact when the client is slower than the backend', () => {
  let origin: http.Server | null = null;
  let proxy: TestProxy | null = null;
  afterEach(async () => {
    await proxy?.close();
    await new Promise((r) => (origin ? origin.close(r) : r(null)));
  });

  it('with Content-Length and with chunked framing, every byte arrives in order', async () => {
    origin = http.createServer((req, res) => {
      if (req.url === '/chunked') res.writeHead(200, { 'content-type': 'application/octet-stream' });
      else res.writeHead(200, { 'content-length': SIZE });
      // the backend writes as fast as the proxy reads
      writeAsFastAsRead(res, body);
    });
    await new Promise<void>((r) => origin!.listen(0, '127.0.0.1', r));
    const port = (origin.address() as AddressInfo).port;
    proxy = await startProxy(`backends = { "http://127.0.0.1:${port}" }\nfunction route(host, path) return proxy.hash(host) end\n`);
    for (const p of ['/length', '/chunked']) {
      const r = await slowGet(proxy.port, p);
      expect(r.status).toBe(200);
      expect(r.length).toBe(SIZE);
      expect(r.sha).toBe(digest);
    }
  }, 60_000);
});
