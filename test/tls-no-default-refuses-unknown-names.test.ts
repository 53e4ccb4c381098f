import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { scrape, value } from './helpers/admin.js';

function handshake(port: number, servername: string | undefined, ca: string): Promise<'ok' | string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca, checkServerIdentity: () => undefined });
    s.once('secureConnect', () => { s.destroy(); resolve('ok'); });
    s.once('error', (e) => resolve(e.message));
  });
}

describe('a TLS listener without a default certificate', () => {
  let p: TestProxy;
  let ca: Issued;
  let port = 0;
  beforeAll(async () => {
    ca = await makeCA();
    const a = await makeCert({ ca, names: ['a.example.com'] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-tls-'));
    fs.writeFileSync(path.join(dir, 'a.pem'), a.chain ?? a.cert);
    fs.writeFileSync(path.join(dir, 'a.key'), a.key);
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "a.pem", key = "a.key" } } }
admin = { listen = "127.0.0.1:0" }
backends = {}
function route(host, path) return { status = 200, body = "ok" } end`, { dir });
    port = p.port;
  });
  afterAll(async () => { await p?.close(); });

  it('completes the handshake for a name it has', async () => {
    expect(await handshake(port, 'a.example.com', ca.cert)).toBe('ok');
  });

  it('fails the handshake for an unknown name and for a client without SNI, and counts both', async () => {
    const before = value(await scrape(p), 'luaproxy_connections_refused_total', { reason: 'tls' });
    expect(await handshake(port, 'other.example.com', ca.cert)).not.toBe('ok');
    expect(await handshake(port, undefined, ca.cert)).not.toBe('ok');
    // the proxy notices the failed handshake a moment after the client does
    await new Promise((r) => setTimeout(r, 100));
    expect(value(await scrape(p), 'luaproxy_connections_refused_total', { reason: 'tls' }) - before).toBe(2);
    // and keeps serving names it has
    expect(await handshake(port, 'a.example.com', ca.cert)).toBe('ok');
  });
});
