/**
 * A small response over HTTP/2 keeps the backend read buffer, as over HTTPS/1.1: an
 * Http2Stream holds what it is written until nghttp2 sends it, so writing a slice of the
 * backend's read buffer kept that 64 KiB buffer lent after every response, and
 * UpConn.nextBuffer() allocated a new one for the next read. H2Stream.write copies pieces
 * up to 8 KiB (found by the h2 bench work; 200 of 200 responses allocated before).
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http2 from 'node:http2';
import https from 'node:https';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { startBackend, pattern, type TestBackend } from './helpers/backend.js';

const N = 200;
const BODY = pattern(1024);

/** calls of Buffer.allocUnsafe(65536) (a backend read buffer) while `fn` runs */
async function count64k(fn: () => Promise<void>): Promise<number> {
  const orig = Buffer.allocUnsafe;
  let n = 0;
  Buffer.allocUnsafe = function (size: number) { if (size === 65536) n++; return orig.call(Buffer, size); } as typeof Buffer.allocUnsafe;
  try { await fn(); } finally { Buffer.allocUnsafe = orig; }
  return n;
}

describe('a small response over HTTP/2 keeps the backend read buffer (as HTTPS/1.1 does)', () => {
  let ca: Issued, p: TestProxy, b: TestBackend;
  beforeAll(async () => {
    ca = await makeCA();
    const cert = await makeCert({ ca, names: ['a.example.com'] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-h2-lent-'));
    fs.writeFileSync(path.join(dir, 'c.pem'), cert.chain ?? cert.cert);
    fs.writeFileSync(path.join(dir, 'c.key'), cert.key);
    b = await startBackend('app', (_req, res) => { res.writeHead(200, { 'content-length': BODY.length }); res.end(BODY); });
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "${path.join(dir, 'c.pem')}", key = "${path.join(dir, 'c.key')}" } }, default = "a.example.com" }
${luaBackends([{ name: 'app', url: b.url }])}
log = { access = false }
function route() return "app" end
`);
  });
  afterAll(async () => { await p?.close(); await b?.close(); });

  it('HTTPS/1.1 keep-alive: at most a few 64 KiB buffers for 200 sequential 1 KiB responses', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () => new Promise<void>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: p.port, servername: 'a.example.com', ca: ca.cert, agent, path: '/' }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
    });
    await get();
    const n = await count64k(async () => { for (let i = 0; i < N; i++) await get(); });
    agent.destroy();
    expect(n).toBeLessThanOrEqual(N / 10);
  });

  it('h2: at most a few 64 KiB buffers for 200 sequential 1 KiB responses on one session', async () => {
    const s = http2.connect(`https://127.0.0.1:${p.port}`, { ca: ca.cert, servername: 'a.example.com' });
    const get = () => new Promise<void>((resolve, reject) => {
      const r = s.request({ ':path': '/' });
      r.resume();
      r.on('end', resolve);
      r.on('error', reject);
    });
    await get();
    const n = await count64k(async () => { for (let i = 0; i < N; i++) await get(); });
    s.close();
    expect(n).toBeLessThanOrEqual(N / 10);
  });
});
