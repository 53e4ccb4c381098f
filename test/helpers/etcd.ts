/**
 * A real etcd for the fleet tests: started on free loopback client and peer ports with a
 * temporary data dir, healthy before the test goes on, stopped by its PID (never by name).
 * `stop()` then `start()` brings the same member back with its data (etcd "went away and
 * came back"). `etcdMissing` is a reason to skip when the binary is not installed.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function which(bin: string): string | null {
  try { return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || null; } catch { return null; }
}

const ETCD = which('etcd');
/** why the fleet tests skip, or null when etcd is installed */
export const etcdMissing: string | null = ETCD ? null : 'the etcd binary is not installed (apt-get install etcd-server); the fleet tests need a real etcd';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface TestEtcd {
  url: string;
  dataDir: string;
  pid(): number | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** TLS for etcd's client port: its certificate and key, the CA clients trust, and whether it asks clients for a certificate of that CA */
export interface EtcdTls { cert: string; key: string; ca: string; clientCert?: { cert: string; key: string } }

function healthy(port: number, tls?: EtcdTls): Promise<boolean> {
  return new Promise((resolve) => {
    const get = tls ? https.get : http.get;
    const req = get({ host: '127.0.0.1', port, path: '/health', timeout: 500, agent: false, ...(tls ? { ca: tls.ca, cert: tls.clientCert?.cert, key: tls.clientCert?.key } : {}) }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function startEtcd(opts: { tls?: EtcdTls } = {}): Promise<TestEtcd> {
  if (!ETCD) throw new Error(etcdMissing!);
  const [client, peer] = [await freePort(), await freePort()];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-etcd-'));
  const tls = opts.tls;
  const scheme = tls ? 'https' : 'http';
  const tlsArgs: string[] = [];
  if (tls) {
    for (const [f, text] of [['server.pem', tls.cert], ['server.key', tls.key], ['ca.pem', tls.ca]]) fs.writeFileSync(path.join(dataDir, f), text, { mode: 0o600 });
    tlsArgs.push('--cert-file', path.join(dataDir, 'server.pem'), '--key-file', path.join(dataDir, 'server.key'));
    if (tls.clientCert) tlsArgs.push('--client-cert-auth', '--trusted-ca-file', path.join(dataDir, 'ca.pem'));
  }
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const e: TestEtcd = {
    url: `${scheme}://127.0.0.1:${client}`,
    dataDir,
    pid: () => child?.pid ?? null,
    async start() {
      const args = [
        '--name', 'lpx', '--data-dir', path.join(dataDir, 'data'),
        '--listen-client-urls', `${scheme}://127.0.0.1:${client}`, '--advertise-client-urls', `${scheme}://127.0.0.1:${client}`, ...tlsArgs,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `lpx=http://127.0.0.1:${peer}`, '--logger', 'zap', '--log-level', 'error', '--log-outputs', path.join(dataDir, 'etcd.log'),
      ];
      child = spawn(ETCD!, args, { stdio: 'ignore' });
      const c = child;
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      const until = Date.now() + 15_000;
      for (;;) {
        if (await healthy(client, tls)) return;
        if (c.exitCode !== null) throw new Error(`etcd exited with ${c.exitCode}; see ${path.join(dataDir, 'etcd.log')}`);
        if (Date.now() > until) throw new Error('etcd did not become healthy within 15 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null || c.pid === undefined) return;
      process.kill(c.pid, 'SIGKILL');
      await exited;
    },
  };
  await e.start();
  return e;
}
