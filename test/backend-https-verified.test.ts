/**
 * An https backend is verified: against node's CAs by default (a test CA's certificate is
 * refused: LPX_UPSTREAM_TLS, with OpenSSL's reason in the log), against the entry's `ca`
 * file, not at all with `verify = false` (and a load warning), and for the entry's
 * `servername`, which is also the SNI the backend sees.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startHttpsBackend, type HttpsBackend } from './helpers/https-backend.js';
import { startProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';

describe('an https backend', () => {
  let ca: Issued;
  let b: HttpsBackend;
  let plain: TestBackend;
  beforeAll(async () => {
    ca = await makeCA({ name: 'luaproxy test CA' });
    const cert = await makeCert({ ca, names: ['localhost', 'api.internal'] });
    b = await startHttpsBackend('secure', cert, 'localhost');
    plain = await startBackend('plain');
  });
  afterAll(async () => { await b.close(); await plain.close(); });

  /** a proxy whose script lists `entry` (the https backend) and a plain one, routing by Host */
  async function proxyWith(entry: string, extra = '') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-https-backend-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    return startProxy(`backends = {
  { name = "secure", url = "https://localhost:${b.port}"${entry} },
  { name = "plain", url = "${plain.url}" },
}
retries = { connect = 0 }
${extra}
function route(host, path)
  if host == "plain" then return "plain" end
  return "secure"
end`, { dir });
  }

  it('is refused when its certificate does not chain to a default CA: 502 LPX_UPSTREAM_TLS, the reason logged', async () => {
    const p = await proxyWith('');
    try {
      const r = await get(p.url + '/', { host: 'x' });
      expect(r.status).toBe(502);
      expect(r.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_TLS');
      const line = p.logs.filter((l) => l.msg === 'request').at(-1)!;
      expect(line).toMatchObject({ status: 502, backend: 'secure', error: 'LPX_UPSTREAM_TLS' });
      expect(String(line.detail)).toMatch(/TLS handshake with localhost:\d+ \(server name localhost\) failed: .*(issuer|certificate)/i);
      // the connection was counted against its passive health
      expect(p.running.server.config.backendSet.byName.get('secure')!.consecutiveFailures).toBeGreaterThan(0);
    } finally { await p.close(); }
  });

  it('is a 502 that names the handshake even when it is the only backend and retries are on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-https-only-'));
    const p = await startProxy(`backends = { { name = "secure", url = "https://localhost:${b.port}" } }
function route(host, path) return "secure" end`, { dir });
    try {
      const r = await get(p.url + '/', { host: 'x' });
      expect(r.status).toBe(502);
      expect(r.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_TLS');
      expect(r.body.toString()).toMatch(/^502 Bad Gateway: backend secure \(https:\/\/localhost:\d+\) failed the TLS handshake: /);
    } finally { await p.close(); }
  });

  it('works with ca = "ca.pem" (relative to the script), with the URL\'s host as SNI', async () => {
    const p = await proxyWith(', ca = "ca.pem"');
    try {
      const before = b.sni.length;
      const r = await get(p.url + '/', { host: 'x' });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('secure');
      expect(b.sni.slice(before)).toEqual(['localhost']);
      expect(p.running.server.config.warnings).toEqual([]);
    } finally { await p.close(); }
  });

  it('works with verify = false, and the load warns about it', async () => {
    const p = await proxyWith(', verify = false');
    try {
      const r = await get(p.url + '/', { host: 'x' });
      expect(r.status).toBe(200);
      const warnings = p.running.server.config.warnings;
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/config\.lua:3: backends\[1\]\.verify = false: the certificate of https:\/\/localhost:\d+ is not verified/);
    } finally { await p.close(); }
  });

  it('sends servername as the SNI and verifies the certificate for that name', async () => {
    const other = await makeCert({ ca, names: ['other.internal'] });
    const wrong = await startHttpsBackend('wrong-name', other);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-https-backend-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    const p = await startProxy(`backends = {
  { name = "secure", url = "https://127.0.0.1:${b.port}", ca = "ca.pem", servername = "api.internal" },
  { name = "mismatch", url = "https://127.0.0.1:${wrong.port}", ca = "ca.pem", servername = "api.internal" },
}
retries = { connect = 0 }
function route(host, path)
  if host == "mismatch" then return "mismatch" end
  return "secure"
end`, { dir });
    try {
      const before = b.sni.length;
      const ok = await get(p.url + '/', { host: 'x' });
      expect(ok.status).toBe(200);
      expect(b.sni.slice(before)).toEqual(['api.internal']);
      // a certificate of the right CA but for another name is refused
      const bad = await get(p.url + '/', { host: 'mismatch' });
      expect(bad.status).toBe(502);
      expect(bad.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_TLS');
      expect(wrong.sni).toEqual(['api.internal']);
      const line = p.logs.filter((l) => l.msg === 'request').at(-1)!;
      expect(String(line.detail)).toMatch(/server name api\.internal.*api\.internal/);
    } finally { await p.close(); await wrong.close(); }
  });
});
