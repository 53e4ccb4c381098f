import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { loadConfig } from '../src/config/load.js';
import { isLpxError } from '../src/core/errors.js';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startBackend } from './helpers/backend.js';
import { startProxy } from './helpers/proxy.js';
import { get, raw } from './helpers/http.js';
import { httpsGet as httpsRequest, type HttpsReply } from './helpers/tls.js';

const dir = path.resolve(import.meta.dirname, '../examples');

/**
 * The certificate files examples name, by example: path (without .pem/.key) -> DNS names.
 * None is committed (it would expire), so such an example is loaded from a temp copy
 * beside certificates made now, signed by a test CA.
 */
const EXAMPLE_CERTS: Record<string, Record<string, string[]>> = {
  'tls.lua': { 'certs/example.com': ['example.com', 'www.example.com'], 'certs/api.example.com': ['api.example.com'] },
};
let ca: Issued;
/** example -> its temp copy's folder, and the certificates made for it by path */
const copies = new Map<string, { dir: string; certs: Map<string, Issued> }>();
beforeAll(async () => {
  ca = await makeCA({ name: 'examples test CA' });
  for (const [name, files] of Object.entries(EXAMPLE_CERTS)) {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-example-'));
    fs.copyFileSync(path.join(dir, name), path.join(copy, name));
    const certs = new Map<string, Issued>();
    for (const [base, names] of Object.entries(files)) {
      const c = await makeCert({ ca, names });
      fs.mkdirSync(path.dirname(path.join(copy, base)), { recursive: true });
      fs.writeFileSync(path.join(copy, `${base}.pem`), c.chain ?? c.cert);
      fs.writeFileSync(path.join(copy, `${base}.key`), c.key, { mode: 0o600 });
      certs.set(base, c);
    }
    copies.set(name, { dir: copy, certs });
  }
});
afterAll(() => { for (const c of copies.values()) fs.rmSync(c.dir, { recursive: true, force: true }); });

const load = (name: string) => loadConfig(path.join(copies.get(name)?.dir ?? dir, name));
const decide = (cfg: ReturnType<typeof load>, host: string, p: string) => cfg.route(Buffer.from(host), Buffer.from(p), null);

describe('every example config', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.lua') && !/_test\.lua$|\.test\.lua$|_spec\.lua$/.test(f));
  it.each(files)('%s loads, validates and routes a request', (f) => {
    const cfg = load(f);
    expect(cfg.warnings).toEqual([]);
    const out = decide(cfg, 'www.example.com', '/');
    expect(['backend', 'respond']).toContain(out.kind);
  });

  it('hosting.lua: a web app lands on one backend whatever the case, and so does its reload URL', () => {
    const cfg = load('hosting.lua');
    const host = decide(cfg, 'ironhand.example.com', '/');
    const control = decide(cfg, 'www.example.com', '/user/fred/webapps/IronHand.Example.COM./reload');
    expect(host.kind).toBe('backend');
    expect(control).toEqual(host);
  });

  it('rewrite.lua: redirects, denies, strips a prefix and answers directly', () => {
    const cfg = load('rewrite.lua');
    expect(decide(cfg, 'example.com', '/a')).toMatchObject({ kind: 'respond', status: 301, headers: [['location', 'https://www.example.com/a']] });
    expect(decide(cfg, 'www.example.com', '/admin/x')).toMatchObject({ kind: 'respond', status: 403 });
    expect(decide(cfg, 'www.example.com', '/api/users')).toMatchObject({ kind: 'backend', name: 'api', path: '/users' });
    expect(decide(cfg, 'www.example.com', '/healthz')).toMatchObject({ kind: 'respond', status: 200 });
    expect(decide(cfg, 'www.example.com', '/page')).toMatchObject({ kind: 'backend', name: 'www' });
  });

  it('rewrite.lua works end to end in front of real backends', async () => {
    const [api, www] = await Promise.all([startBackend('api'), startBackend('www')]);
    const src = fs.readFileSync(path.join(dir, 'rewrite.lua'), 'utf8')
      .replace('listen = 8080', 'listen = "127.0.0.1:0"')
      .replace('http://127.0.0.1:9001', api.url).replace('http://127.0.0.1:9002', www.url);
    const p = await startProxy(src);
    try {
      const r = await get(p.url + '/api/users?id=7', { host: 'www.example.com', headers: { cookie: 'secret=1' } });
      const seen = JSON.parse(r.body.toString());
      expect(seen).toMatchObject({ backend: 'api', url: '/users?id=7' });
      expect(seen.headers['x-api-version']).toBe('2');
      expect(seen.headers.cookie).toBeUndefined();
      const redirect = await get(p.url + '/x', { host: 'Example.com' });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.location).toBe('https://www.example.com/x');
    } finally {
      await p.close();
      await Promise.all([api.close(), www.close()]);
    }
  });

  it('tls.lua as committed, without its certificate files: loading names the first missing file', () => {
    let err: unknown = null;
    try { loadConfig(path.join(dir, 'tls.lua')); } catch (e) { err = e; }
    expect(isLpxError(err, 'LPX_CONFIG_INVALID'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/^examples\/tls\.lua:\d+: tls\.certificates\[1\]\.cert: cannot read "certs\/example\.com\.pem": no such file \(ENOENT/);
    // and its header says how to make them
    expect(fs.readFileSync(path.join(dir, 'tls.lua'), 'utf8')).toContain('-keyout certs/example.com.key -out certs/example.com.pem');
  });

  it('tls.lua works end to end: a certificate per site by SNI, plain HTTP redirected, a misdirected request refused', async () => {
    const copy = copies.get('tls.lua')!;
    const [api, www] = await Promise.all([startBackend('api'), startBackend('www')]);
    const src = fs.readFileSync(path.join(dir, 'tls.lua'), 'utf8')
      .replace('listen = { 80, { address = 443, tls = true } }', 'listen = { "127.0.0.1:0", { address = "127.0.0.1:0", tls = true } }')
      .replace('http://127.0.0.1:9001', api.url).replace('http://127.0.0.1:9002', www.url);
    expect(src).toContain('"127.0.0.1:0", tls = true');
    const p = await startProxy(src, { dir: copy.dir });
    try {
      const [plain, secure] = p.running.server.addresses().map((a) => a.address.port);
      const redirect = await raw(plain, 'GET /pricing?plan=pro HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n');
      expect(redirect).toMatch(/^HTTP\/1\.1 308/);
      expect(redirect).toMatch(/\r\nlocation: https:\/\/www\.example\.com\/pricing\?plan=pro\r\n/i);

      const serial = (base: string) => new X509Certificate(copy.certs.get(base)!.cert).serialNumber;
      const toApi = await httpsGet(secure, 'api.example.com', 'api.example.com', '/v1/users');
      expect(toApi).toMatchObject({ status: 200, serial: serial('certs/api.example.com') });
      expect(JSON.parse(toApi.body)).toMatchObject({ backend: 'api', url: '/v1/users' });
      const toWww = await httpsGet(secure, 'www.example.com', 'www.example.com', '/');
      expect(toWww).toMatchObject({ status: 200, serial: serial('certs/example.com') });
      expect(JSON.parse(toWww.body).backend).toBe('www');

      const misdirected = await httpsGet(secure, 'www.example.com', 'api.example.com', '/');
      expect(misdirected.status).toBe(421);
    } finally {
      await p.close();
      await Promise.all([api.close(), www.close()]);
    }
  });
});

/** one HTTPS request with the test CA trusted and the name checked */
function httpsGet(port: number, servername: string, host: string, urlPath: string): Promise<HttpsReply> {
  return httpsRequest({ port, servername, ca: ca.cert, host, path: urlPath });
}
