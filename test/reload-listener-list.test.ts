import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { describe, it, expect, afterEach } from 'vitest';
import { deadPort } from './helpers/backend.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { ask, waitFor } from './helpers/reload.js';
import { makeCA, makeCert } from '../src/tls/self-signed.js';

const refused = (port: number) => ask(port).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
const ROUTE = 'backends = {}\nfunction route(h, p, req) return { status = 200, body = req.scheme } end\n';

/** does `port` speak TLS (a handshake completes) or plain HTTP? */
function speaksTls(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'a.example.com', rejectUnauthorized: false });
    s.once('secureConnect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

describe('a reload that changes a list of listeners', () => {
  let p: TestProxy, squatter: http.Server | null = null;
  afterEach(async () => {
    await p?.close();
    if (squatter) await new Promise((r) => squatter!.close(r));
    squatter = null;
  });

  async function withCerts(): Promise<string> {
    const ca = await makeCA();
    const a = await makeCert({ ca, names: ['a.example.com'] });
    p = await startProxy(`listen = { "127.0.0.1:0" }\n${ROUTE}`);
    fs.writeFileSync(path.join(p.dir, 'a.pem'), a.chain ?? a.cert);
    fs.writeFileSync(path.join(p.dir, 'a.key'), a.key);
    return 'tls = { certificates = { { cert = "a.pem", key = "a.key" } }, default = "a.example.com" }\n';
  }

  it('adds a TLS listener and drops another, keeping the address that stays and its open connection', async () => {
    const tlsTable = await withCerts();
    const kept = p.port;
    const [added, other] = [await deadPort(), await deadPort()];
    p.write(`listen = { "127.0.0.1:${kept}", "127.0.0.1:${other}" }\n${ROUTE}`);
    expect((await p.running.reloader.reload('one')).ok).toBe(true);
    expect((await ask(other)).status).toBe(200);

    // keep a connection open on the address that stays, across the next reload
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await new Promise<number>((resolve, reject) => http.get({ host: '127.0.0.1', port: kept, agent }, (res) => { const local = res.socket.localPort ?? 0; res.resume(); res.on('end', () => resolve(local)); }).on('error', reject));

    p.write(`listen = { "127.0.0.1:${kept}", { address = "127.0.0.1:${added}", tls = true } }\n${tlsTable}${ROUTE}`);
    const r = await p.running.reloader.reload('two');
    expect(r.error).toBeUndefined();
    expect(p.running.server.addresses().map((a) => [a.address.port, a.spec.tls])).toEqual([[kept, false], [added, true]]);
    expect(await speaksTls(added)).toBe(true);
    await waitFor(() => refused(other), 3000, 'the dropped address to close');
    const second = await new Promise<number>((resolve, reject) => http.get({ host: '127.0.0.1', port: kept, agent }, (res) => { const local = res.socket.localPort ?? 0; res.resume(); res.on('end', () => resolve(local)); }).on('error', reject));
    expect(second).toBe(first); // the same keep-alive connection: the listener that stayed was not rebound
    agent.destroy();
  });

  it('turns TLS on for an address that stays, for its next connections', async () => {
    const tlsTable = await withCerts();
    const port = p.port;
    expect(await speaksTls(port)).toBe(false);
    p.write(`listen = { { address = "127.0.0.1:${port}", tls = true } }\n${tlsTable}${ROUTE}`);
    expect((await p.running.reloader.reload('tls')).ok).toBe(true);
    expect(await speaksTls(port)).toBe(true);
  });

  it('binds nothing and changes nothing when one of the new addresses is taken', async () => {
    p = await startProxy(`listen = { "127.0.0.1:0" }\n${ROUTE}`);
    squatter = http.createServer();
    await new Promise<void>((r) => squatter!.listen(0, '127.0.0.1', r));
    const taken = (squatter.address() as AddressInfo).port;
    const free = await deadPort();
    const live = p.running.config;
    p.write(`listen = { "127.0.0.1:${free}", "127.0.0.1:${taken}" }\n${ROUTE}`);
    const r = await p.running.reloader.reload('test');
    expect(r).toMatchObject({ ok: false, code: 'LPX_RELOAD_LISTEN' });
    expect(p.running.config).toBe(live);
    // the free address bound on the way was let go again
    await waitFor(() => refused(free), 3000, 'the address bound on the way to close');
    expect((await ask(p.port)).status).toBe(200);
  });
});
