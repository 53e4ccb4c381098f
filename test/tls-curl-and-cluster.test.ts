import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, execFile } from 'node:child_process';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { startCluster, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';

const hasCurl = spawnSync('curl', ['--version']).status === 0;

/** curl in a child process, without blocking this one (the proxy under test runs here) */
function curl(port: number, name: string, caFile: string): Promise<{ status: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--http1.1', '--cacert', caFile, '--resolve', `${name}:${port}:127.0.0.1`, '-w', '\n%{http_code} %{ssl_verify_result}', `https://${name}:${port}/x?y=1`], { encoding: 'utf8', timeout: 15_000 }, (e, out, err) => {
      resolve({ status: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err });
    });
  });
}

describe('HTTPS to real clients', () => {
  let ca: Issued, cert: Issued, dir: string, caFile: string;
  beforeAll(async () => {
    ca = await makeCA();
    cert = await makeCert({ ca, names: ['shop.example.com', '*.apps.example.com'] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-tls-real-'));
    fs.writeFileSync(path.join(dir, 'c.pem'), cert.chain ?? cert.cert);
    fs.writeFileSync(path.join(dir, 'c.key'), cert.key);
    caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, ca.cert);
  });

  const script = (d: string) => `listen = { { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "${path.join(d, 'c.pem')}", key = "${path.join(d, 'c.key')}" } }, default = "shop.example.com" }
backends = {}
function route(host, path, req) return { status = 200, body = req.scheme .. " " .. req.tls_sni .. " " .. host .. " " .. req.url } end
`;

  describe('curl --http1.1', () => {
    let p: TestProxy;
    afterAll(async () => { await p?.close(); });
    it.skipIf(!hasCurl)('verifies the chain against the test CA and gets the answer route gave, for an exact and a wildcard name', async () => {
      p = await startProxy(script(dir));
      const a = await curl(p.port, 'shop.example.com', caFile);
      expect(a.err).toBe('');
      expect(a.out).toBe('https shop.example.com shop.example.com /x?y=1\n200 0');
      const b = await curl(p.port, 'x.apps.example.com', caFile);
      expect(b.out).toBe('https x.apps.example.com x.apps.example.com /x?y=1\n200 0');
      // curl checks the name itself: a name the certificate does not cover fails, though the default certificate is sent
      const c = await curl(p.port, 'other.example.com', caFile);
      expect(c.status).not.toBe(0);
      expect(c.err).toMatch(/certificate|subject|name/i);
    });
  });

  describe('a cluster (--workers 2)', () => {
    let c: ClusterProc;
    afterAll(async () => { await c?.close(); });
    it.skipIf(!hasCurl)('every worker serves HTTPS with the certificate', async () => {
      if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
      c = await startCluster(script(dir), 2, ['--no-watch']);
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const r = spawnSync('curl', ['-sS', '--http1.1', '--cacert', caFile, '--resolve', `shop.example.com:${c.port}:127.0.0.1`, '-w', '%{http_code}', '-o', '/dev/null', '-v', `https://shop.example.com:${c.port}/`], { encoding: 'utf8', timeout: 15_000 });
        expect(r.stdout).toBe('200');
        seen.add(r.stderr.includes('SSL certificate verify ok') ? 'verified' : r.stderr);
      }
      expect([...seen]).toEqual(['verified']);
      // both workers answered (their access lines carry their pids)
      await c.waitFor((l) => l.msg === 'request', 5000);
      const pids = new Set(c.logs.filter((l) => l.msg === 'request').map((l) => l.pid));
      expect(pids.size).toBe(2);
    });
  });
});
