/**
 * `luaproxy init --tls DIR` writes a starter with an HTTPS listener and a self-signed
 * certificate for localhost made on the spot (key readable by its owner only); the result
 * passes `luaproxy check` and `luaproxy test`, and a started proxy serves HTTPS with that
 * certificate and redirects plain HTTP to it. Runs the built CLI (npm run build).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type Running } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { raw } from './helpers/http.js';
import { httpsGet as httpsRequest, type HttpsReply } from './helpers/tls.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/luaproxy.js');

function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 20_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) || 1 : 0, stdout, stderr });
    });
  });
}

function httpsGet(port: number, ca: string, urlPath: string): Promise<HttpsReply> {
  // servername and the default identity check: the certificate must name localhost
  return httpsRequest({ port, servername: 'localhost', ca, host: 'localhost', path: urlPath });
}

describe('luaproxy init --tls', () => {
  let tmp: string;
  let site: string;
  let init: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-init-tls-'));
    site = path.join(tmp, 'site');
    init = await cli(['init', '--tls', 'site'], tmp);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes the starter, certs/localhost.pem and a key only its owner can read, and says how to try it', () => {
    expect(init.code, init.stderr).toBe(0);
    expect(fs.readdirSync(site).sort()).toEqual(['.luarc.json', 'certs', 'config.lua', 'config_test.lua']);
    expect(fs.readdirSync(path.join(site, 'certs')).sort()).toEqual(['localhost.key', 'localhost.pem']);
    expect(fs.statSync(path.join(site, 'certs/localhost.key')).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(fs.readFileSync(path.join(site, 'certs/localhost.pem')));
    expect(cert.subjectAltName).toBe('DNS:localhost');
    // self-signed: its own issuer, signed by its own key
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    const config = fs.readFileSync(path.join(site, 'config.lua'), 'utf8');
    expect(config).toMatch(/^listen = \{ 8080, \{ address = 8443, tls = true \} \}$/m);
    expect(config).toMatch(/^tls = \{$/m);
    expect(init.stdout).toContain('curl -k https://localhost:8443/');
  });

  it('passes luaproxy check', async () => {
    const r = await cli(['check', 'config.lua'], site);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('passes luaproxy test, the redirect row included', async () => {
    const r = await cli(['test', '--verbose'], site);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ok\s+localhost:8080 \/a\?b=1/);
    expect(r.stdout).toMatch(/\b5 passed, 0 failed/);
  });

  describe('started (on ephemeral ports)', () => {
    let running: Running;
    let plainPort = 0;
    let tlsPort = 0;
    beforeAll(async () => {
      const file = path.join(site, 'config.lua');
      const text = fs.readFileSync(file, 'utf8');
      const local = text.replace('listen = { 8080, { address = 8443, tls = true } }', 'listen = { "127.0.0.1:0", { address = "127.0.0.1:0", tls = true } }');
      expect(local).not.toBe(text);
      fs.writeFileSync(file, local);
      running = await start({ file, log: createLogger({ level: 'error' }), watch: false });
      const addrs = running.server.addresses();
      plainPort = addrs[0].address.port;
      tlsPort = addrs[1].address.port;
    });
    afterAll(async () => { await running?.stop(2000); });

    it('answers HTTPS with the certificate init made, trusted as its own CA', async () => {
      const pem = fs.readFileSync(path.join(site, 'certs/localhost.pem'), 'utf8');
      const r = await httpsGet(tlsPort, pem, '/healthz');
      expect(r.status).toBe(200);
      expect(r.body).toBe('ok\n');
      expect(r.fingerprint).toBe(new X509Certificate(pem).fingerprint256);
    });

    it('redirects plain HTTP to the HTTPS port', async () => {
      const res = await raw(plainPort, 'GET /a?b=1 HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n\r\n');
      expect(res).toMatch(/^HTTP\/1\.1 308/);
      expect(res).toMatch(/\r\nlocation: https:\/\/localhost:8443\/a\?b=1\r\n/i);
    });
  });
});
