/**
 * What the ACME tests share: a luaproxy with a plain listener on the port pebble
 * validates HTTP-01 on and a TLS listener on port 0, the TLS listener's port, waiting
 * for a log line, and curl against the TLS listener (in a child process, never blocking
 * the proxy under test).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { afterAll } from 'vitest';
import { startProxy, type TestProxy } from './proxy.js';
import { startPebble, type Pebble } from './pebble.js';

/** the script's head: the two listeners and the acme table pointing at pebble; `extra` goes inside the acme table */
export function acmeScript(pebble: Pebble, httpPort: number, storage: string, extra = '', tlsPort = 0): string {
  return `listen = { "127.0.0.1:${httpPort}", { address = "127.0.0.1:${tlsPort}", tls = true } }
acme = { directory = ${JSON.stringify(pebble.directory)}, ca = ${JSON.stringify(pebble.caFile)}, storage = ${JSON.stringify(storage)}, email = "ops@example.com"${extra ? `, ${extra}` : ''} }
backends = {}
`;
}

export const ROUTE_ECHO = 'function route(host, path, req) return { status = 200, body = req.scheme .. " " .. host .. " " .. path } end\n';

export async function startAcmeProxy(source: string, dir?: string): Promise<TestProxy & { tlsPort: number }> {
  const p = await startProxy(source, { dir });
  const tls = p.running.server.addresses().find((a) => a.spec.tls);
  if (!tls) throw new Error('no TLS listener');
  return Object.assign(p, { tlsPort: tls.address.port });
}

/** the first log line (already seen or to come) that `pred` matches */
export async function waitLog(logs: Array<Record<string, unknown>>, pred: (l: Record<string, any>) => boolean, ms = 20_000, what = 'log line'): Promise<Record<string, any>> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 10_000; i++) {
    const hit = logs.find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms; last lines: ${JSON.stringify(logs.slice(-6))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${what}`);
}

export const acmeEvent = (name: string, event: string) => (l: Record<string, any>) => l.acme?.name === name && l.acme?.event === event;

/** curl https://name:port/ verified against `rootPem` */
export function curlVerified(port: number, name: string, rootPem: string, dir: string): Promise<{ code: number; out: string; err: string }> {
  const caFile = path.join(dir, `root-${Math.random().toString(16).slice(2)}.pem`);
  fs.writeFileSync(caFile, rootPem);
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--http1.1', '--cacert', caFile, '--resolve', `${name}:${port}:127.0.0.1`, '-w', '\n%{http_code} %{ssl_verify_result}', `https://${name}:${port}/hello`], { encoding: 'utf8', timeout: 20_000 }, (e, out, err) => {
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err });
    });
  });
}

/** a `tls` table whose only certificate is a self-signed one for default.example.com, the default: what a refused name gets */
export async function defaultCertTable(dir: string): Promise<string> {
  const { makeCert } = await import('../../src/tls/self-signed.js');
  const c = await makeCert({ names: ['default.example.com'] });
  fs.writeFileSync(path.join(dir, 'default.pem'), c.cert);
  fs.writeFileSync(path.join(dir, 'default.key'), c.key);
  return `tls = { certificates = { { cert = ${JSON.stringify(path.join(dir, 'default.pem'))}, key = ${JSON.stringify(path.join(dir, 'default.key'))} } }, default = "default.example.com" }\n`;
}

/**
 * The temp folder, pebble and proxies of one ACME test file: each started through here
 * is stopped after the file's tests (proxies first), and the folder removed. Call it in
 * the body of the file's describe().
 */
export function acmeEnv(prefix: string): { dir: string; pebble(opts: { httpPort: number; validity?: number }): Promise<Pebble>; proxy(source: string): Promise<TestProxy & { tlsPort: number }> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lpx-acme-${prefix}-`));
  const proxies: TestProxy[] = [];
  const pebbles: Pebble[] = [];
  afterAll(async () => {
    for (const p of proxies) await p.close();
    for (const p of pebbles) await p.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    async pebble(opts) {
      const p = await startPebble(opts);
      pebbles.push(p);
      return p;
    },
    async proxy(source) {
      const p = await startAcmeProxy(source);
      proxies.push(p);
      return p;
    },
  };
}
