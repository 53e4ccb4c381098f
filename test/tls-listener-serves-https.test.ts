import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';
import { httpsGet, type HttpsReply } from './helpers/tls.js';

// route answers with how the request came, so the client sees what route saw
const ROUTE = `
function route(host, path, req)
  if req.scheme == "http" and path == "/login" then return { status = 308, headers = { location = "https://" .. host .. req.url } } end
  return { status = 200, body = req.scheme .. " " .. tostring(req.tls_sni) .. " " .. req.http_version .. " " .. host }
end`;

function get(port: number, servername: string | undefined, ca: string, hostHeader: string): Promise<HttpsReply> {
  return httpsGet({ port, servername, ca, host: hostHeader, check: false });
}

describe('a TLS listener beside a plain one, serving the same route()', () => {
  let p: TestProxy;
  let ca: Issued, a: Issued, wild: Issued;
  let plainPort = 0, tlsPort = 0;
  beforeAll(async () => {
    ca = await makeCA();
    [a, wild] = await Promise.all([makeCert({ ca, names: ['a.example.com'] }), makeCert({ ca, names: ['*.b.example.com'] })]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-tls-'));
    fs.writeFileSync(path.join(dir, 'a.pem'), a.chain ?? a.cert);
    fs.writeFileSync(path.join(dir, 'a.key'), a.key);
    fs.writeFileSync(path.join(dir, 'w.pem'), wild.chain ?? wild.cert);
    fs.writeFileSync(path.join(dir, 'w.key'), wild.key);
    p = await startProxy(`listen = { "127.0.0.1:0", { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "a.pem", key = "a.key" }, { cert = "w.pem", key = "w.key" } }, default = "a.example.com" }
backends = {}
${ROUTE}`, { dir });
    const addrs = p.running.server.addresses();
    plainPort = addrs[0].address.port;
    tlsPort = addrs[1].address.port;
  });
  afterAll(async () => { await p?.close(); });

  const serialOf = (c: Issued) => new X509Certificate(c.cert).serialNumber;

  it('answers plain HTTP on the first listener, and route sees scheme http', async () => {
    const res = await raw(plainPort, 'GET / HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    expect(res.endsWith('http nil 1.1 a.example.com')).toBe(true);
  });

  it('redirects http to https in one line of Lua', async () => {
    const res = await raw(plainPort, 'GET /login?next=%2F HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1\.1 308/);
    expect(res).toMatch(/\r\nlocation: https:\/\/a\.example\.com\/login\?next=%2F\r\n/i);
  });

  it('picks the certificate by SNI: exact name, then wildcard, and route sees scheme https and the SNI name', async () => {
    const exact = await get(tlsPort, 'a.example.com', ca.cert, 'a.example.com');
    expect(exact.body).toBe('https a.example.com 1.1 a.example.com');
    expect(exact.serial).toBe(serialOf(a));
    const w = await get(tlsPort, 'x.b.example.com', ca.cert, 'x.b.example.com');
    expect(w.body).toBe('https x.b.example.com 1.1 x.b.example.com');
    expect(w.serial).toBe(serialOf(wild));
  });

  it('gives the default certificate to a name no certificate serves, and to a client without SNI', async () => {
    // a wildcard covers one label only: y.x.b.example.com is not *.b.example.com
    expect((await get(tlsPort, 'y.x.b.example.com', ca.cert, 'y.x.b.example.com')).serial).toBe(serialOf(a));
    expect((await get(tlsPort, undefined, ca.cert, 'a.example.com')).serial).toBe(serialOf(a));
  });
});
