/**
 * The etcd client of a fleet command (run, push, status, drain): etcd3 (gRPC, watches,
 * leases, transactions) on the endpoints of --etcd. Credentials and TLS come from flags or
 * the environment, never from the script, so a script pushed to the fleet cannot carry
 * them (a password only from the environment: a command line is visible to every user):
 *
 *   --etcd-user,  LUAPROXY_ETCD_USERNAME; LUAPROXY_ETCD_PASSWORD   etcd user (password auth)
 *   --etcd-ca,    LUAPROXY_ETCD_CA      PEM file of the CA etcd's certificate chains to (https:// endpoints)
 *   --etcd-cert, --etcd-key, LUAPROXY_ETCD_CERT, LUAPROXY_ETCD_KEY   PEM files of a client certificate (mutual TLS)
 */
import fs from 'node:fs';
import type { Etcd3, IOptions } from 'etcd3';
import type { Command } from 'commander';
import { LpxError } from '../core/errors.js';

/** the credential flags every fleet command takes */
export interface EtcdFlags { etcdUser?: string; etcdCa?: string; etcdCert?: string; etcdKey?: string }

export function addEtcdFlags(cmd: Command): Command {
  return cmd
    .option('--etcd-user <name>', 'etcd user for password auth (password from LUAPROXY_ETCD_PASSWORD; default LUAPROXY_ETCD_USERNAME)')
    .option('--etcd-ca <file>', 'PEM file of the CA of etcd\'s certificate, for https:// endpoints (default LUAPROXY_ETCD_CA)')
    .option('--etcd-cert <file>', 'PEM client certificate for etcd (default LUAPROXY_ETCD_CERT)')
    .option('--etcd-key <file>', 'PEM key of that certificate (default LUAPROXY_ETCD_KEY)');
}

/** the environment with the credential flags given on the command line in its place */
export function etcdEnv(o: EtcdFlags, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  if (o.etcdUser !== undefined) out.LUAPROXY_ETCD_USERNAME = o.etcdUser;
  if (o.etcdCa !== undefined) out.LUAPROXY_ETCD_CA = o.etcdCa;
  if (o.etcdCert !== undefined) out.LUAPROXY_ETCD_CERT = o.etcdCert;
  if (o.etcdKey !== undefined) out.LUAPROXY_ETCD_KEY = o.etcdKey;
  return out;
}

export interface EtcdTarget {
  /** endpoints, e.g. ["http://127.0.0.1:2379"] */
  hosts: string[];
  prefix: string;
}

/** `--etcd http://a:2379,http://b:2379` */
export function parseEndpoints(v: string): string[] {
  const hosts = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (hosts.length === 0) throw new LpxError('LPX_CLI_USAGE', `--etcd: expected one or more URLs like http://127.0.0.1:2379 separated by commas, got ${JSON.stringify(v)}`);
  for (const h of hosts) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(h)) throw new LpxError('LPX_CLI_USAGE', `--etcd: expected a URL like http://127.0.0.1:2379, got ${JSON.stringify(h)}`);
  }
  return hosts;
}

/** a client for `hosts`; calls (not watches) give up after `callTimeoutMs`. etcd3 (and gRPC) load on first use, not with every command */
export async function connect(hosts: string[], callTimeoutMs = 5000, env: NodeJS.ProcessEnv = process.env): Promise<Etcd3> {
  const { Etcd3: Client } = await import('etcd3');
  const opts: IOptions = {
    hosts,
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
  };
  const file = (name: string): Buffer | undefined => {
    const f = env[name];
    if (!f) return undefined;
    try {
      return fs.readFileSync(f);
    } catch (e) {
      throw new LpxError('LPX_FLEET_ETCD', `${f} (${name.replace('LUAPROXY_ETCD_', '--etcd-').toLowerCase()} or ${name}): cannot read the file: ${(e as Error).message}`, { cause: e });
    }
  };
  const ca = file('LUAPROXY_ETCD_CA');
  if (ca) opts.credentials = { rootCertificate: ca, privateKey: file('LUAPROXY_ETCD_KEY'), certChain: file('LUAPROXY_ETCD_CERT') };
  if (env.LUAPROXY_ETCD_USERNAME) opts.auth = { username: env.LUAPROXY_ETCD_USERNAME, password: env.LUAPROXY_ETCD_PASSWORD ?? '' };
  return new Client(opts);
}

/** an etcd failure as one line that names the endpoints */
export function etcdError(e: unknown, hosts: string[], doing: string): LpxError {
  const msg = (e as Error)?.message ?? String(e);
  return new LpxError('LPX_FLEET_ETCD', `etcd at ${hosts.join(',')}: ${doing} failed: ${msg}`, { cause: e });
}
