import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { makeCA, makeCert } from '../src/tls/self-signed.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';

function request(agent: https.Agent, port: number, ca: string): Promise<{ status: number; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', servername: 'a.example.com', ca, agent, headers: { host: 'a.example.com' } }, (res) => {
      const serial = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.serialNumber ?? '';
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a certificate renewed on disk (written by rename, as certbot does)', () => {
  let p: TestProxy;
  afterAll(async () => { await p?.close(); });

  it('is live for new handshakes within 1 s, while keep-alive clients lose no request', async () => {
    const ca = await makeCA();
    const [v1, v2] = await Promise.all([makeCert({ ca, names: ['a.example.com'] }), makeCert({ ca, names: ['a.example.com'] })]);
    const serial2 = new X509Certificate(v2.cert).serialNumber;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-renew-'));
    const write = (name: string, text: string) => { fs.writeFileSync(path.join(dir, `.${name}.tmp`), text); fs.renameSync(path.join(dir, `.${name}.tmp`), path.join(dir, name)); };
    write('a.pem', v1.chain ?? v1.cert);
    write('a.key', v1.key);
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "a.pem", key = "a.key" } }, default = "a.example.com" }
backends = {}
function route(host, path) return { status = 200, body = "ok" } end`, { dir, watch: true });

    const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 4 });
    let failed = 0, done = 0, running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        try { if ((await request(keepAlive, p.port, ca.cert)).status !== 200) failed++; } catch { failed++; }
        done++;
      }
    });
    await new Promise((r) => setTimeout(r, 200));
    // the key first, then the certificate: the reload waits for a quiet moment, and a pair that does not match yet is refused (the old one keeps serving)
    const t0 = Date.now();
    write('a.key', v2.key);
    write('a.pem', v2.chain ?? v2.cert);
    let seenAt = 0;
    while (Date.now() - t0 < 3000) {
      const fresh = new https.Agent({ keepAlive: false });
      const r = await request(fresh, p.port, ca.cert);
      if (r.serial === serial2) { seenAt = Date.now() - t0; break; }
      await new Promise((res) => setTimeout(res, 25));
    }
    await new Promise((r) => setTimeout(r, 200));
    running = false;
    await Promise.all(loops);
    keepAlive.destroy();
    expect(seenAt, 'new handshakes never saw the new certificate').toBeGreaterThan(0);
    expect(seenAt).toBeLessThan(1000);
    expect(done).toBeGreaterThan(20);
    expect(failed).toBe(0);
  });
});
