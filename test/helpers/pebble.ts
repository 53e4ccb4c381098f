/**
 * Let's Encrypt's test ACME server, pebble, and its mock DNS, pebble-challtestsrv, on
 * free loopback ports with a temp config, for the ACME tests. Every name resolves to
 * 127.0.0.1, and pebble validates HTTP-01 on `httpPort`: the port of luaproxy's plain
 * listener. PEBBLE_VA_ALWAYS_VALID is never set, so each challenge is really answered.
 * Both are stopped by PID. pebble's log tells the orders it received.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeCA, makeCert } from '../../src/tls/self-signed.js';

export const PEBBLE = 'pebble';
export const CHALLTESTSRV = 'pebble-challtestsrv';

/** why the ACME tests skip, or null when pebble is installed */
export function pebbleMissing(): string | null {
  for (const bin of ['pebble', 'pebble-challtestsrv']) {
    const found = (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, bin)));
    if (!found) return `${bin} is not installed (apt-get install pebble); the ACME tests need a real ACME server`;
  }
  return null;
}

export interface Pebble {
  /** the ACME directory URL */
  directory: string;
  /** the CA of pebble's own HTTPS (luaproxy's acme.ca) */
  caFile: string;
  /** the root that signs the certificates pebble issues (from its management API) */
  root: string;
  dir: string;
  /** pebble's log so far */
  log(): string;
  /** how many new orders pebble has received (since start; a restart keeps counting) */
  orders(): number;
  /** stop pebble only (its DNS stays): "the ACME server is down" */
  stopAcme(): Promise<void>;
  /** start pebble again on the same ports (a new root: pebble makes one per start) */
  restart(): Promise<void>;
  /** stop both, by PID, and remove the temp folder */
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function spawnLogged(bin: string, args: string[], env: NodeJS.ProcessEnv, sink: { text: string }): ChildProcess {
  const p = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout!.on('data', (d: Buffer) => { sink.text += d.toString(); });
  p.stderr!.on('data', (d: Buffer) => { sink.text += d.toString(); });
  return p;
}

async function stopProc(p: ChildProcess | null): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid!, 'SIGTERM');
  const t = setTimeout(() => { if (p.exitCode === null) process.kill(p.pid!, 'SIGKILL'); }, 3000);
  await gone;
  clearTimeout(t);
}

function getText(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** start pebble (validating HTTP-01 on 127.0.0.1:`httpPort`) and its DNS; `validity`: seconds a certificate is valid */
export async function startPebble(opts: { httpPort: number; validity?: number }): Promise<Pebble> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-pebble-'));
  const ca = await makeCA({ name: 'pebble test listener CA' });
  const leaf = await makeCert({ ca, names: ['localhost', '127.0.0.1'] });
  const caFile = path.join(dir, 'listener-ca.pem');
  fs.writeFileSync(caFile, ca.cert);
  fs.writeFileSync(path.join(dir, 'cert.pem'), leaf.chain ?? leaf.cert);
  fs.writeFileSync(path.join(dir, 'key.pem'), leaf.key);
  const [acmePort, mgmtPort, dnsPort, tlsPort, dnsMgmt] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  fs.writeFileSync(path.join(dir, 'pebble.json'), JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: path.join(dir, 'cert.pem'),
      privateKey: path.join(dir, 'key.pem'),
      httpPort: opts.httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(opts.validity ? { certificateValidityPeriod: opts.validity } : {}),
    },
  }));
  const dnsLog = { text: '' };
  const dns = spawnLogged(CHALLTESTSRV, ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsMgmt}`], {}, dnsLog);
  const pebbleLog = { text: '' };
  let pebble: ChildProcess | null = null;
  const caPem = ca.cert;
  let root = '';
  const directory = `https://127.0.0.1:${acmePort}/dir`;

  const launch = async () => {
    // no random nonce rejections (pebble's default 5%): an order's steps are what the tests look at
    pebble = spawnLogged(PEBBLE, ['-config', path.join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0', PEBBLE_VA_ALWAYS_VALID: '' }, pebbleLog);
    const deadline = Date.now() + 10_000;
    for (let i = 0; i < 200; i++) {
      try {
        if ((await getText(directory, caPem)).status === 200) break;
      } catch { /* not up yet */ }
      if (Date.now() > deadline || pebble.exitCode !== null) throw new Error(`pebble did not start: ${pebbleLog.text.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    root = (await getText(`https://127.0.0.1:${mgmtPort}/roots/0`, caPem)).body;
    if (!root.includes('BEGIN CERTIFICATE')) throw new Error(`no root from pebble's management API: ${root.slice(0, 200)}`);
  };
  try {
    await launch();
  } catch (e) {
    await stopProc(pebble);
    await stopProc(dns);
    throw e;
  }
  return {
    directory,
    caFile,
    get root() { return root; },
    dir,
    log: () => pebbleLog.text,
    orders: () => (pebbleLog.text.match(ORDER_RE) ?? []).length,
    async stopAcme() {
      await stopProc(pebble);
    },
    async restart() {
      await stopProc(pebble);
      await launch();
    },
    async close() {
      await stopProc(pebble);
      await stopProc(dns);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** the line pebble logs for each new order */
const ORDER_RE = /POST \/order-plz/g;
