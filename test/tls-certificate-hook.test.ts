import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';

/** the serial of the certificate the proxy sent for `servername`, or the handshake's error */
function serialFor(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    s.once('secureConnect', () => { resolve(s.getPeerX509Certificate()?.serialNumber ?? ''); s.destroy(); });
    s.once('error', (e) => resolve(`error: ${e.message}`));
  });
}

describe('tls_certificate(host): a Lua hook that picks the certificate', () => {
  let p: TestProxy;
  let a: Issued, b: Issued;
  beforeAll(async () => {
    const ca = await makeCA();
    [a, b] = await Promise.all([makeCert({ ca, names: ['a.example.com'] }), makeCert({ ca, names: ['b.example.com'] })]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-hook-'));
    fs.writeFileSync(path.join(dir, 'a.pem'), a.chain ?? a.cert);
    fs.writeFileSync(path.join(dir, 'a.key'), a.key);
    fs.writeFileSync(path.join(dir, 'b.pem'), b.chain ?? b.cert);
    fs.writeFileSync(path.join(dir, 'b.key'), b.key);
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "a.pem", key = "a.key" }, { cert = "b.pem", key = "b.key" } }, default = "a.example.com" }
backends = {}
calls = 0
function tls_certificate(host)
  calls = calls + 1
  if host:find("%.legacy%.example$") then return "b.example.com" end
  if host == "broken.example" then error("no such tenant") end
  if host == "loop.example" then while true do end end
  return nil
end
function route(host, path) return { status = 200, body = "ok" } end`, { dir });
  });
  afterAll(async () => { await p?.close(); });
  const serial = (c: Issued) => new X509Certificate(c.cert).serialNumber;

  it('serves the certificate the hook names, for names the SAN rules cannot express', async () => {
    expect(await serialFor(p.port, 'shop.legacy.example')).toBe(serial(b));
  });

  it('falls back to the rules when the hook returns nil', async () => {
    expect(await serialFor(p.port, 'b.example.com')).toBe(serial(b));
    expect(await serialFor(p.port, 'unknown.example.org')).toBe(serial(a));
  });

  it('is called once per new name, not per handshake', async () => {
    const before = p.running.config.script.global('calls') as number;
    for (let i = 0; i < 5; i++) expect(await serialFor(p.port, 'x.legacy.example')).toBe(serial(b));
    expect((p.running.config.script.global('calls') as number) - before).toBe(1);
  });

  it('fails the handshake when the hook fails or runs out of its budget, logs the script line, and keeps serving', async () => {
    expect(await serialFor(p.port, 'broken.example')).toMatch(/^error: /);
    const line = p.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('TLS handshake for "broken.example" failed'));
    expect(line?.msg).toMatch(/config\.lua:\d+: no such tenant/);
    expect(await serialFor(p.port, 'loop.example')).toMatch(/^error: /);
    expect(await serialFor(p.port, 'a.example.com')).toBe(serial(a));
  });
});
