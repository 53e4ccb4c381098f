/**
 * Fleet test helpers: a folder with a script to push, instances run in this process
 * (startFleet, each with its own cache folder and etcd client), the CLI run in this
 * process (its etcd calls are asynchronous, so in-process instances keep serving), and
 * the routing of many sample hosts through an instance's live config.
 */
import http from 'node:http';
import { startEtcd, type TestEtcd } from './etcd.js';
import { startBackend, type TestBackend } from './backend.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFleet, type FleetInstance } from '../../src/fleet/instance.js';
import { captureLog } from './proxy.js';
import { decide } from '../../src/routing/decide.js';
import { RouteCall, requestSource } from '../../src/routing/call.js';
import { destination } from '../../src/core/decision.js';

export function scriptDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-fleet-src-'));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

export interface TestInstance extends FleetInstance {
  logs: Array<Record<string, unknown>>;
  cache: string;
  port: number;
}

export async function startInstance(url: string, prefix: string, opts: { cache?: string; admin?: boolean; id?: string } = {}): Promise<TestInstance> {
  const cache = opts.cache ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-fleet-cache-'));
  const { logs, log } = captureLog();
  const f = await startFleet({ hosts: [url], prefix, cache, log, listen: '127.0.0.1:0', admin: opts.admin ? '127.0.0.1:0' : null, id: opts.id, connectTimeoutMs: 1500 });
  return Object.assign(f, { logs, cache, port: f.running.address.port }) as TestInstance;
}

export { cli } from './cli.js';

/** where the live config of an instance sends each of `n` sample hosts (the routing step the proxy runs) */
export function routeHosts(i: FleetInstance, n: number): string[] {
  const cfg = i.running.config;
  const out: string[] = [];
  for (let k = 0; k < n; k++) out.push(destination(decide(cfg, new RouteCall(requestSource('GET', '/', `s${k}.example.org`), '127.0.0.1'))));
  return out;
}

/** poll until `pred` holds; throws after `ms` */
export async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await pred()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** GET http://127.0.0.1:`port``p`, its body */
export function getBody(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** what most fleet tests start with: a real etcd and a backend per name */
export async function fleetSetup(names: string[]): Promise<{ etcd: TestEtcd; bs: TestBackend[] }> {
  const etcd = await startEtcd();
  const bs = await Promise.all(names.map((n) => startBackend(n)));
  return { etcd, bs };
}

/** stop the instances, then etcd, then the backends */
export async function fleetTeardown(etcd: TestEtcd | undefined, bs: TestBackend[], fleet: Array<{ stop(ms: number): Promise<unknown> }>): Promise<void> {
  await Promise.all(fleet.map((f) => f.stop(1000)));
  await etcd?.stop();
  await Promise.all(bs.map((b) => b.close()));
}
