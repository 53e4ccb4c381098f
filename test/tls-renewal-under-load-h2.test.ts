/**
 * A certificate renewed on disk (written by rename, as certbot does) while HTTP/1.1
 * keep-alive clients AND HTTP/2 sessions run requests through the proxy (issue #15):
 * no request fails, new handshakes (HTTP/1.1 and h2) see the new serial within 1 s, and
 * the h2 sessions opened before the swap keep their connection (still the old
 * certificate, never closed) and keep serving streams after it.
 * test/tls-renewal-under-load.test.ts is the HTTP/1.1-only version, with direct answers.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import https from 'node:https';
import http2 from 'node:http2';
import { X509Certificate } from 'node:crypto';
import { makeCA, makeCert } from '../src/tls/self-signed.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { startBackend, type TestBackend } from './helpers/backend.js';

const NAME = 'a.example.com';

function h1(agent: https.Agent, port: number, ca: string): Promise<{ status: number; serial: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/h1', servername: NAME, ca, agent, headers: { host: NAME } }, (res) => {
      const serial = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.serialNumber ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function h2(session: http2.ClientHttp2Session, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': p });
    let status = 0, body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
  });
}

function connect(port: number, ca: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: NAME, host: '127.0.0.1' } as http2.SecureClientSessionOptions);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

// the session's socket is a proxy that does not pass getPeerX509Certificate on; getPeerCertificate gives the same hex serial
const serialOf = (s: http2.ClientHttp2Session) => (s.socket as unknown as tls.TLSSocket).getPeerCertificate()?.serialNumber ?? '';

describe('a certificate renewed on disk while HTTP/1.1 and HTTP/2 clients run', () => {
  let p: TestProxy | null = null;
  let b: TestBackend | null = null;
  afterAll(async () => { await p?.close(); await b?.close(); });

  it('is live for new handshakes within 1 s; 0 failed requests; open h2 sessions keep working', async () => {
    const ca = await makeCA();
    const [v1, v2] = await Promise.all([makeCert({ ca, names: [NAME] }), makeCert({ ca, names: [NAME] })]);
    const serial1 = new X509Certificate(v1.cert).serialNumber;
    const serial2 = new X509Certificate(v2.cert).serialNumber;
    expect(serial1).not.toBe(serial2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-renew-h2-'));
    const write = (name: string, text: string) => { fs.writeFileSync(path.join(dir, `.${name}.tmp`), text); fs.renameSync(path.join(dir, `.${name}.tmp`), path.join(dir, name)); };
    write('a.pem', v1.chain ?? v1.cert);
    write('a.key', v1.key);
    b = await startBackend('app', (req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(`app ${req.url}`); });
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "a.pem", key = "a.key" } }, default = "${NAME}" }
${luaBackends([{ name: 'app', url: b.url }])}
function route(host, path) return "app" end`, { dir, watch: true });

    const failures: string[] = [];
    let running = true;
    let swappedAt = 0; // Date.now() when the new certificate was seen; h2 streams after it are counted
    const counts = { h1: 0, h2: 0, h2AfterSwap: 0 };

    // HTTP/1.1: 4 keep-alive loops on one agent
    const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 4 });
    const h1Loops = Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          const r = await h1(keepAlive, p!.port, ca.cert);
          if (r.status !== 200 || r.body !== 'app /h1') failures.push(`h1: ${r.status} ${r.body}`);
        } catch (e) { failures.push(`h1: ${(e as Error).message}`); }
        counts.h1++;
      }
    });
    // HTTP/2: 2 sessions opened before the swap, each with 4 concurrent stream loops
    const sessions = await Promise.all([connect(p.port, ca.cert), connect(p.port, ca.cert)]);
    const closed: string[] = [];
    sessions.forEach((s, i) => {
      s.on('close', () => closed.push(`session ${i} closed`));
      s.on('goaway', (code) => closed.push(`session ${i} got GOAWAY ${code}`));
      s.on('error', (e) => failures.push(`session ${i}: ${e.message}`));
    });
    for (const s of sessions) {
      expect((s.socket as unknown as tls.TLSSocket).alpnProtocol).toBe('h2');
      expect(serialOf(s)).toBe(serial1);
    }
    const h2Loops = sessions.flatMap((s, i) => Array.from({ length: 4 }, async (_, j) => {
      while (running) {
        const path = `/h2/${i}/${j}`;
        try {
          const r = await h2(s, path);
          if (r.status !== 200 || r.body !== `app ${path}`) failures.push(`h2: ${r.status} ${r.body}`);
          else if (swappedAt) counts.h2AfterSwap++;
        } catch (e) { failures.push(`h2: ${(e as Error).message}`); }
        counts.h2++;
      }
    }));

    await new Promise((r) => setTimeout(r, 300));
    // the key first, then the certificate (as the HTTP/1.1 test: a pair that does not match yet is refused, the old one keeps serving)
    const t0 = Date.now();
    write('a.key', v2.key);
    write('a.pem', v2.chain ?? v2.cert);
    let seenAt = 0;
    while (Date.now() - t0 < 3000) {
      const r = await h1(new https.Agent({ keepAlive: false }), p.port, ca.cert);
      if (r.serial === serial2) { seenAt = Date.now() - t0; break; }
      await new Promise((res) => setTimeout(res, 25));
    }
    swappedAt = Date.now();
    // a new h2 session after the swap gets the new certificate and h2
    const fresh = await connect(p.port, ca.cert);
    const freshSerial = serialOf(fresh);
    const freshReply = await h2(fresh, '/fresh');
    fresh.close();
    // the load goes on for a while on the sessions opened before the swap
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await Promise.all([...h1Loops, ...h2Loops]);
    keepAlive.destroy();

    expect(seenAt, 'new handshakes never saw the new certificate').toBeGreaterThan(0);
    expect(seenAt).toBeLessThan(1000);
    expect(freshSerial).toBe(serial2);
    expect(freshReply).toEqual({ status: 200, body: 'app /fresh' });
    expect(failures).toEqual([]);
    expect(counts.h1).toBeGreaterThan(20);
    expect(counts.h2).toBeGreaterThan(20);
    // the sessions opened before the swap served streams after it, on their old connection
    expect(counts.h2AfterSwap).toBeGreaterThan(8);
    expect(closed).toEqual([]);
    for (const s of sessions) {
      expect(s.closed || s.destroyed).toBe(false);
      expect(serialOf(s)).toBe(serial1);
      expect(await h2(s, '/last')).toEqual({ status: 200, body: 'app /last' });
      s.close();
    }
  });
});
