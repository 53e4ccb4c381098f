import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startHttpsBackend, type HttpsBackend } from './helpers/https-backend.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { parseProxyHeader } from '../src/http1/proxy-protocol.js';

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('active health checks reach a backend the way requests do', () => {
  let ca: Issued, b: HttpsBackend, p: TestProxy | null = null;
  let pp: net.Server;
  const ppSeen: string[] = [];
  beforeAll(async () => {
    ca = await makeCA();
    b = await startHttpsBackend('secure', await makeCert({ ca, names: ['localhost'] }));
    // a plain backend that insists on a PROXY header first, and answers the check
    pp = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        let got: ReturnType<typeof parseProxyHeader>;
        try { got = parseProxyHeader(buf); } catch { s.destroy(); return; }
        if (got === null) return;
        ppSeen.push(`${got.header.version}:${got.header.command}`);
        if (buf.indexOf('\r\n\r\n', got.length) > 0) s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => pp.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => { await p?.close(); await b.close(); pp.close(); });

  it('over https with the backend\'s own ca (and down without it: its certificate is not trusted)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-health-tls-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    p = await startProxy(`backends = {
  { name = "trusted", url = "https://localhost:${b.port}", ca = "ca.pem" },
  { name = "untrusted", url = "https://localhost:${b.port}" },
  { name = "pp", url = "http://127.0.0.1:${(pp.address() as net.AddressInfo).port}", proxy_protocol = "v2" },
}
health = { path = "/health", interval = 0.1, timeout = 1, rise = 1, fall = 1 }
function route(h, p) return "trusted" end`, { dir });
    const set = p.running.config.backendSet;
    await until('the untrusted one is marked down', () => !set.byName.get('untrusted')!.healthy);
    await until('the trusted one has been checked', () => (set.byName.get('trusted')!.lastCheck ?? '') !== '');
    await until('the trusted one answers its check', () => set.byName.get('trusted')!.lastCheck === 'HTTP 200');
    expect(set.byName.get('trusted')!.healthy).toBe(true);
    expect(set.byName.get('untrusted')!.lastCheck).toMatch(/certificate|issuer|UNABLE_TO|SELF_SIGNED/i);
    // the PROXY backend got a LOCAL v2 header before the check, and answered it
    await until('the PROXY backend has been checked', () => (set.byName.get('pp')!.lastCheck ?? '') !== '');
    await until('the PROXY backend answers its check', () => set.byName.get('pp')!.lastCheck === 'HTTP 200');
    expect(ppSeen[0]).toBe('2:local');
  });
});
