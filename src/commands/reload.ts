/**
 * `luaproxy reload [config.lua]`: ask a running proxy to reload its script through the
 * admin API (`POST /reload`) and print the outcome. Exits 1 when the proxy refused the
 * new script (it keeps serving the old one), so deploy scripts can stop there.
 */
import http from 'node:http';
import type { Command } from 'commander';
import { loadConfig, parseHostPort } from '../config/load.js';
import { LpxError, isLpxError } from '../core/errors.js';
import type { ReloadResult } from '../reload/reloader.js';

interface ReloadCliOptions {
  admin?: string;
  token?: string;
  json?: boolean;
  force?: boolean;
  timeout: string;
}

export function registerReload(program: Command): void {
  program
    .command('reload')
    .description('ask a running proxy to reload its script (through the admin API) and print the outcome; exit 1 when refused')
    .argument('[config]', 'the script the proxy runs: admin.listen and admin.token are read from it')
    .option('--admin <host:port>', 'the proxy\'s admin listener (overrides admin.listen)')
    .option('--token <token>', 'admin bearer token (default: LUAPROXY_ADMIN_TOKEN, then admin.token)')
    .option('--json', 'print the proxy\'s answer as JSON')
    .option('--force', 'go live past the blast-radius guard (reload.max_failing, reload.max_moved) for this one reload')
    .option('--timeout <seconds>', 'how long to wait for the answer', '30')
    .addHelpText('after', '\nExamples:\n  $ luaproxy reload config.lua\n  $ luaproxy reload --admin 127.0.0.1:9901 --token "$TOKEN"')
    .action(async (file: string | undefined, o: ReloadCliOptions) => {
      const { host, port, token } = target(file, o);
      const timeoutMs = Number(o.timeout) * 1000;
      if (!(timeoutMs > 0)) throw new LpxError('LPX_CLI_USAGE', `--timeout: expected a number of seconds above 0, got ${JSON.stringify(o.timeout)}`);
      const { status, body } = await post(host, port, token, timeoutMs, Boolean(o.force));
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      let r: ReloadResult | { error?: string } | null = null;
      try { r = JSON.parse(body); } catch { r = null; }
      if (status === 401 || status === 403) {
        throw new Error(`the admin listener at ${where} refused the request (${status}): ${(r as { error?: string } | null)?.error ?? body.trim()}${token ? '' : '; give --token or set LUAPROXY_ADMIN_TOKEN'}`);
      }
      if ((status !== 200 && status !== 422) || !r || typeof (r as ReloadResult).ok !== 'boolean') {
        throw new Error(`unexpected answer from the admin listener at ${where}: ${status} ${body.trim().slice(0, 500)}`);
      }
      const res = r as ReloadResult;
      if (o.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
      else if (res.ok) process.stdout.write(describeOk(res) + '\n');
      else process.stderr.write(`reload refused: ${res.error ?? res.code}\nversion ${res.version} (${res.hash}) keeps serving${res.code === 'LPX_RELOAD_GUARD' ? '; if the change is meant, run again with --force' : ''}\n`);
      if (!res.ok) process.exitCode = 1;
    });
}

function describeOk(r: ReloadResult): string {
  const share = r.sampled ? `; ${((r.moved ?? 0) * 100).toFixed(1)}% of ${r.sampled} recent host${r.sampled === 1 ? '' : 's'} change backend` : '';
  return `reload ok: version ${r.version} live, hash ${r.hash}, ${r.durationMs} ms${share}`;
}

/** where to ask and with what token: flags, then the environment, then the script */
function target(file: string | undefined, o: ReloadCliOptions): { host: string; port: number; token: string | null } {
  let listen = o.admin ?? null;
  let token = o.token ?? (process.env.LUAPROXY_ADMIN_TOKEN || null);
  if (file && (listen === null || token === null)) {
    let cfg;
    try {
      cfg = loadConfig(file, { log: () => {} });
    } catch (e) {
      if (listen === null) {
        // not a usage error: the script named is broken (or missing), so keep its own code
        throw new LpxError(isLpxError(e) ? e.code : 'LPX_CONFIG_LOAD', `cannot read admin.listen from ${file}, so there is no proxy to ask (give --admin HOST:PORT); the script is broken and a reload of it would be refused:\n${(e as Error).message}`, { cause: e });
      }
      cfg = null;
    }
    listen ??= cfg?.settings.admin.listen ?? null;
    token ??= cfg?.settings.admin.token ?? null;
    if (listen === null) throw new LpxError('LPX_CLI_USAGE', `${file} sets no admin.listen, so the proxy has no admin listener to ask (unless it was started with --admin); give --admin HOST:PORT`);
  }
  if (listen === null) throw new LpxError('LPX_CLI_USAGE', 'say which proxy to reload: give the config.lua it runs, or --admin HOST:PORT');
  const a = parseHostPort(listen);
  if (!a || a.port === 0) throw new LpxError('LPX_CLI_USAGE', `admin address: expected "host:port", got ${JSON.stringify(listen)}`);
  // a listener on every address is reachable on loopback
  const host = a.host === '0.0.0.0' || a.host === '' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host;
  return { host, port: a.port, token };
}

function post(host: string, port: number, token: string | null, timeoutMs: number, force: boolean): Promise<{ status: number; body: string }> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host, port, method: 'POST', path: force ? '/reload?force=1' : '/reload', agent: false, timeout: timeoutMs,
      headers: { host: where, 'content-length': 0, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ECONNREFUSED' ? 'nothing listens there; is the proxy running with an admin listener (admin.listen or --admin)?' : e.message;
      reject(new Error(`cannot reach the admin listener at ${where}: ${why}`, { cause: e }));
    });
    req.end();
  });
}
