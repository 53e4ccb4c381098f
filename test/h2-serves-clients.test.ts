/**
 * HTTP/2 to clients (issue #15): a TLS listener offers h2 by ALPN; node's http2 client and
 * curl --http2 get the same routing, forwarding, error pages and headers as HTTP/1.1.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http2 from 'node:http2';
import { spawnSync, execFile } from 'node:child_process';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { startBackend, pattern, type TestBackend } from './helpers/backend.js';
import { h2Request } from './helpers/h2.js';

const hasCurl = spawnSync('curl', ['--version']).status === 0 && /HTTP2/.test(spawnSync('curl', ['--version'], { encoding: 'utf8' }).stdout);

function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', ...args], { encoding: 'utf8', timeout: 15_000, maxBuffer: 8 << 20 }, (e, out, err) => {
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err });
    });
  });
}

describe('HTTP/2 to clients', () => {
  let ca: Issued, dir: string, caFile: string, p: TestProxy, b: TestBackend;
  const seen: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer }> = [];
  beforeAll(async () => {
    ca = await makeCA();
    const cert = await makeCert({ ca, names: ['shop.example.com'] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-h2-'));
    fs.writeFileSync(path.join(dir, 'c.pem'), cert.chain ?? cert.cert);
    fs.writeFileSync(path.join(dir, 'c.key'), cert.key);
    caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, ca.cert);
    b = await startBackend('app', (req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts) });
        if (req.url === '/big') { res.setHeader('content-type', 'application/octet-stream'); res.end(pattern(1 << 20)); return; }
        if (req.url === '/twotypes') { res.setHeader('content-type', ['text/a', 'text/b']); res.setHeader('location', ['/1', '/2']); res.end('two'); return; }
        if (req.url === '/nolength') { res.writeHead(200, { 'x-a': '1' }); res.write('part one, '); setTimeout(() => res.end('part two'), 20); return; }
        res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], connection: 'keep-alive', 'keep-alive': 'timeout=5' });
        res.end(`${req.method} ${req.url} ${Buffer.concat(parts).length}`);
      });
    });
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "${path.join(dir, 'c.pem')}", key = "${path.join(dir, 'c.key')}" } }, default = "shop.example.com" }
${luaBackends([{ name: 'app', url: b.url }])}
function route(host, path, req)
  if path == "/direct" then return { status = 201, headers = { ["x-v"] = req.http_version .. " " .. req.scheme }, body = "direct " .. req.http_version } end
  if path == "/fail" then error("boom") end
  if path == "/twotypes-direct" then return { status = 200, headers = { ["Content-Type"] = "text/a", ["content-type"] = "text/b" }, body = "d" } end
  if host == "shop.example.com" then return "app" end
  return nil
end
`);
  });
  afterAll(async () => { await p?.close(); await b?.close(); });

  const connect = () => http2.connect(`https://shop.example.com:${p.port}`, { ca: fs.readFileSync(caFile), servername: 'shop.example.com', host: '127.0.0.1', lookup: (_h, _o, cb) => cb(null, '127.0.0.1', 4) } as http2.SecureClientSessionOptions);

  it('negotiates h2 and forwards requests to the HTTP/1.1 backend, many streams on one session', async () => {
    const s = connect();
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => h2Request(s, { ':path': `/r${i}?q=${i}`, cookie: 'x=1' })));
      expect((s.socket as unknown as { alpnProtocol: string }).alpnProtocol).toBe('h2');
      replies.forEach((r, i) => {
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe(`GET /r${i}?q=${i} 0`);
        // hop-by-hop headers of the backend do not reach an HTTP/2 client; repeated ones stay repeated
        expect(r.headers.connection).toBeUndefined();
        expect(r.headers['keep-alive']).toBeUndefined();
        expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      });
      const got = seen.find((x) => x.url === '/r3?q=3')!;
      expect(got.headers.host).toBe(`shop.example.com:${p.port}`);
      expect(got.headers['x-forwarded-proto']).toBe('https');
    } finally { s.close(); }
  });

  it('joins split Cookie fields for the backend, and sends a body without a length chunked', async () => {
    const s = connect();
    try {
      const r = await h2Request(s, { ':method': 'POST', ':path': '/upload', cookie: ['a=1', 'b=2'] }, Buffer.alloc(100_000, 7));
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('POST /upload 100000');
      const got = seen.find((x) => x.url === '/upload')!;
      expect(got.headers.cookie).toBe('a=1; b=2');
      expect(got.headers['transfer-encoding']).toBe('chunked');
      expect(got.body.equals(Buffer.alloc(100_000, 7))).toBe(true);
      const r2 = await h2Request(s, { ':method': 'PUT', ':path': '/sized', 'content-length': '5' }, 'hello');
      expect(r2.body.toString()).toBe('PUT /sized 5');
      expect(seen.find((x) => x.url === '/sized')!.headers['content-length']).toBe('5');
    } finally { s.close(); }
  });

  it('streams a large body byte-exact, and a body without a length ends with the stream', async () => {
    const s = connect();
    try {
      const big = await h2Request(s, { ':path': '/big' });
      expect(big.body.equals(pattern(1 << 20))).toBe(true);
      expect(big.headers['content-length']).toBe(String(1 << 20));
      const nl = await h2Request(s, { ':path': '/nolength' });
      expect(nl.body.toString()).toBe('part one, part two');
      expect(nl.headers['transfer-encoding']).toBeUndefined();
    } finally { s.close(); }
  });

  it('gives route req.http_version "2", and answers direct responses, 404s and script errors as HTTP/1.1 does', async () => {
    const s = connect();
    try {
      const d = await h2Request(s, { ':path': '/direct' });
      expect(d.status).toBe(201);
      expect(d.headers['x-v']).toBe('2 https');
      expect(d.body.toString()).toBe('direct 2');
      const head = await h2Request(s, { ':path': '/direct', ':method': 'HEAD' });
      expect(head.status).toBe(201);
      expect(head.body.length).toBe(0);
      const f = await h2Request(s, { ':path': '/fail' });
      expect(f.status).toBe(500);
      expect(f.headers['x-luaproxy-error']).toBe('LPX_ROUTE_ERROR');
      // the access line says which protocol the request came over
      await new Promise((r) => setTimeout(r, 300));
      expect(p.logs.find((l) => l.msg === 'request' && l.path === '/direct')?.http).toBe('2');
      const none = await h2Request(s, { ':path': '/', ':authority': 'other.example.com' });
      expect(none.status).toBe(404);
      expect(none.headers['x-luaproxy-error']).toBe('LPX_ROUTE_NONE');
    } finally { s.close(); }
  });

  it('passes on a head that repeats a single-value header (which HTTP/2 cannot carry twice) with its first value, from a backend and from route', async () => {
    const s = connect();
    try {
      const r = await h2Request(s, { ':path': '/twotypes' });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/a');
      expect(r.headers.location).toBe('/1');
      expect(r.body.toString()).toBe('two');
      const d = await h2Request(s, { ':path': '/twotypes-direct' });
      expect(d.status).toBe(200);
      expect(['text/a', 'text/b']).toContain(d.headers['content-type']);
      expect(d.body.toString()).toBe('d');
    } finally { s.close(); }
  });

  it('refuses a stream whose :authority and Host differ, and keeps the session for the next', async () => {
    const s = connect();
    try {
      const r = await h2Request(s, { ':path': '/x', ':authority': 'shop.example.com', host: 'evil.example.com' });
      expect(r.status).toBe(400);
      const ok = await h2Request(s, { ':path': '/after' });
      expect(ok.status).toBe(200);
    } finally { s.close(); }
  });

  it.skipIf(!hasCurl)('curl --http2 and curl --http1.1 get the same answer, verified against the test CA', async () => {
    const common = ['--cacert', caFile, '--resolve', `shop.example.com:${p.port}:127.0.0.1`, '-w', '\n%{http_version} %{http_code}'];
    const a = await curl(['--http2', ...common, `https://shop.example.com:${p.port}/direct`]);
    expect(a.err).toBe('');
    expect(a.out).toBe('direct 2\n2 201');
    const b1 = await curl(['--http1.1', ...common, `https://shop.example.com:${p.port}/direct`]);
    expect(b1.out).toBe('direct 1.1\n1.1 201');
    const up = await curl(['--http2', ...common, '--data-binary', 'abc', `https://shop.example.com:${p.port}/post`]);
    expect(up.out).toBe('POST /post 3\n2 200');
  });
});
