import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { raw } from './helpers/http.js';
import { loadRouting } from '../src/routing/routing-script.js';
import { RouteCall } from '../src/routing/call.js';
import { decide } from '../src/routing/decide.js';
import { runTests } from '../src/testing/runner.js';

// route() writes back everything it saw, so every entry point can be compared byte for byte
const SCRIPT = `
backends = { { name = "app", url = "http://127.0.0.1:9" } }
log = { access = false }
function route(host, path, req)
  local hs = {}
  for k, v in pairs(req.headers) do hs[#hs + 1] = k .. "=" .. (type(v) == "table" and table.concat(v, ",") or v) end
  table.sort(hs)
  return { status = 200, body = table.concat({ host, path, req.method, req.url, tostring(req.query), req.client, req.scheme, req.http_version, tostring(req.tls_sni), table.concat(hs, ";") }, "|") }
end
`;

interface Case { name: string; host: string; target: string; method: string; headers: Array<[string, string]>; minor?: number }
const CASES: Case[] = [
  // the issue's example: dot segments and an encoded unreserved byte, a port, upper case
  { name: 'dot segments and %61', host: 'A.Example:80', target: '/x/../%61dmin?q=1', method: 'GET', headers: [['X-A', '1']] },
  { name: 'trailing dot, no query', host: 'shop.example.com.', target: '/cart/./items', method: 'POST', headers: [['Content-Type', 'text/plain']] },
  { name: 'absolute form wins over Host', host: 'other.example', target: 'http://B.Example/p/%7euser?x=%41', method: 'GET', headers: [] },
  { name: 'encoded reserved byte kept, empty query', host: 'c.example', target: '/a%2Fb?', method: 'DELETE', headers: [['Accept', '*/*']] },
  { name: 'HTTP/1.0', host: 'd.example', target: '/old', method: 'GET', headers: [], minor: 0 },
];

function wireRequest(c: Case): string {
  const lines = [`${c.method} ${c.target} HTTP/1.${c.minor ?? 1}`, `Host: ${c.host}`, ...c.headers.map(([k, v]) => `${k}: ${v}`)];
  if (c.method === 'POST') lines.push('Content-Length: 0');
  return lines.join('\r\n') + '\r\nConnection: close\r\n\r\n';
}

describe('one routing seam: every entry point gives route() exactly what production gives it', () => {
  let p: TestProxy;
  let file: string;
  const live = new Map<string, string>();
  beforeAll(async () => {
    p = await startProxy(SCRIPT);
    file = p.file;
    for (const c of CASES) {
      const res = await raw(p.port, wireRequest(c));
      expect(res.startsWith('HTTP/1.1 200'), res).toBe(true);
      live.set(c.name, res.slice(res.indexOf('\r\n\r\n') + 4));
    }
  });
  afterAll(async () => { await p?.close(); });

  // Content-Length and Connection are framing the test API has no use for: compare the rest
  const withoutFraming = (body: string) => {
    const at = body.lastIndexOf('|') + 1;
    return body.slice(0, at) + body.slice(at).split(';').filter((h) => h !== 'connection=close' && h !== 'content-length=0').join(';');
  };

  it('the proxy answers what route saw (normalized host and path, url as sent)', () => {
    expect(live.get(CASES[0].name)).toBe('a.example|/admin|GET|/x/../%61dmin?q=1|q=1|127.0.0.1|http|1.1|nil|connection=close;host=A.Example:80;x-a=1');
    expect(live.get(CASES[2].name)).toBe('b.example|/p/~user|GET|/p/%7euser?x=%41|x=%41|127.0.0.1|http|1.1|nil|connection=close;host=other.example');
    expect(live.get(CASES[4].name)).toBe('d.example|/old|GET|/old|nil|127.0.0.1|http|1.0|nil|connection=close;host=d.example');
  });

  it('loadRouting().route() (the TS test API)', () => {
    const r = loadRouting(file);
    for (const c of CASES) {
      const got = r.route(c.host, c.target, { method: c.method, headers: Object.fromEntries(c.headers), http_version: c.minor === 0 ? '1.0' : undefined });
      expect(got.kind, c.name).toBe('respond');
      expect(got.kind === 'respond' && got.body, c.name).toBe(withoutFraming(live.get(c.name)!));
    }
  });

  it('`luaproxy route --json`', () => {
    const bin = path.resolve(import.meta.dirname, '../bin/luaproxy.js');
    for (const c of CASES.filter((x) => x.minor === undefined)) {
      const args = [bin, 'route', file, c.host, c.target, '-X', c.method, '--json', ...c.headers.flatMap(([k, v]) => ['-H', `${k}: ${v}`])];
      const out = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
      expect(out.status, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout).decision.body, c.name).toBe(withoutFraming(live.get(c.name)!));
    }
  });

  it('the Lua test API (luaproxy test)', async () => {
    const rows = CASES.map((c) => `  eq(route(${JSON.stringify(c.host)}, ${JSON.stringify(c.target)}, { method = ${JSON.stringify(c.method)}, ${c.minor === 0 ? 'http_version = "1.0", ' : ''}headers = { ${c.headers.map(([k, v]) => `[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join(', ')} } }).body, ${JSON.stringify(withoutFraming(live.get(c.name)!))})`);
    const t = path.join(path.dirname(file), 'config_test.lua');
    fs.writeFileSync(t, `test("the same as the proxy", function()\n${rows.join('\n')}\nend)\n`);
    const r = await runTests([t], { script: file });
    expect(r.failed, JSON.stringify(r.files, null, 1)).toBe(0);
    expect(r.passed).toBe(1);
  });

  it("a reload's dry run replays the proxy's own recent requests as they came", () => {
    const samples = p.running.server.recentSamples();
    expect(samples.length).toBe(CASES.length);
    samples.forEach((s, i) => {
      const d = decide(p.running.config, new RouteCall(s.head, s.client));
      expect(d.kind === 'respond' && d.body?.toString('latin1')).toBe(live.get(CASES[i].name));
    });
  });
});

describe('one routing seam: a request over a TLS listener', () => {
  let p: TestProxy;
  afterAll(async () => { await p?.close(); });

  it('reaches route() as the test APIs make it with scheme = "https"', async () => {
    const { makeCA, makeCert } = await import('../src/tls/self-signed.js');
    const tls = await import('node:tls');
    const ca = await makeCA();
    const cert = await makeCert({ ca, names: ['a.example'] });
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "a.pem", key = "a.key" } } }
${SCRIPT}`, { dir: (() => { const d = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-seam-tls-')); fs.writeFileSync(path.join(d, 'a.pem'), cert.chain ?? cert.cert); fs.writeFileSync(path.join(d, 'a.key'), cert.key); return d; })() });
    const s = tls.connect({ host: '127.0.0.1', port: p.port, servername: 'a.example', ca: ca.cert });
    await new Promise((r, j) => { s.once('secureConnect', r); s.once('error', j); });
    s.write('GET /x/../%61dmin?q=1 HTTP/1.1\r\nHost: A.Example:443\r\nX-A: 1\r\nConnection: close\r\n\r\n');
    const res = await new Promise<string>((resolve) => { let out = ''; s.on('data', (d) => { out += d; }); s.on('end', () => resolve(out)); });
    const live = res.slice(res.indexOf('\r\n\r\n') + 4);
    expect(live).toBe('a.example|/admin|GET|/x/../%61dmin?q=1|q=1|127.0.0.1|https|1.1|a.example|connection=close;host=A.Example:443;x-a=1');
    const viaApi = loadRouting(p.file).route('A.Example:443', '/x/../%61dmin?q=1', { scheme: 'https', headers: { 'X-A': '1', Connection: 'close' } });
    expect(viaApi.kind === 'respond' && viaApi.body).toBe(live);

    // the same request over HTTP/2: :authority is the Host, and http_version is "2"
    const http2 = await import('node:http2');
    const h2 = http2.connect(`https://127.0.0.1:${p.port}`, { ca: ca.cert, servername: 'a.example' });
    const live2 = await new Promise<string>((resolve, reject) => {
      const req = h2.request({ ':path': '/x/../%61dmin?q=1', ':authority': 'A.Example:443', 'x-a': '1' });
      let out = '';
      req.on('data', (d) => { out += d; });
      req.on('end', () => resolve(out));
      req.on('error', reject);
    });
    h2.close();
    expect(live2).toBe('a.example|/admin|GET|/x/../%61dmin?q=1|q=1|127.0.0.1|https|2|a.example|host=A.Example:443;x-a=1');
    const viaApi2 = loadRouting(p.file).route('A.Example:443', '/x/../%61dmin?q=1', { scheme: 'https', http_version: '2', headers: { 'x-a': '1' } });
    expect(viaApi2.kind === 'respond' && viaApi2.body).toBe(live2);
  });
});
