/**
 * The admin listener: a separate HTTP server (loopback by default) for operators and
 * scrapers. It never shares a port or a code path with traffic, so a flood of client
 * requests cannot hide the proxy's own vital signs, and the admin API is never
 * reachable through the proxy.
 *
 *   GET  /                         status page (HTML; fetches /status itself)
 *   GET  /metrics                  Prometheus text format
 *   GET  /status                   JSON: live script, reloads, backends, errors, process
 *   POST /reload                   reload the script now: 200 live, 422 refused
 *   POST /reload?force=1           the same, past the blast-radius guard (reload.max_failing, max_moved)
 *   POST /backends/NAME/drain      stop sending new requests to a backend
 *   POST /backends/NAME/enable     undo drain
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../core/logger.js';
import { LpxError } from '../core/errors.js';
import type { Config, ListenAddress } from '../config/load.js';
import type { ReloadResult, ReloadOptions } from '../reload/reloader.js';
import type { ProxyMetrics } from './metrics.js';
import { buildStatus, type AdminTarget } from './status.js';
import { isLoopback, tokenMatches, hostIsLoopback, crossOrigin } from './access.js';
import { statusPage, PAGE_CSP } from './page.js';

export interface AdminServerOptions {
  listen: ListenAddress;
  log: Logger;
  /** a token that wins over the script's admin.token (the LUAPROXY_ADMIN_TOKEN environment variable) */
  token?: string | null;
  /** the address came from --admin, so the script's admin.listen does not matter */
  fixedListen?: boolean;
}

/** what the admin listener controls: the token and backend names come from the live config */
export interface AdminControl {
  readonly config: Config;
  readonly reloader: { reload(trigger: string, opts?: ReloadOptions): Promise<ReloadResult> };
}

/**
 * Where the answers come from: a single process reads its own registry and backends
 * (localSource); a cluster primary asks its workers over IPC (src/cluster/primary.ts).
 */
export interface AdminSource {
  readonly contentType: string;
  metrics(): Promise<string>;
  status(admin: string): Promise<unknown>;
  /** drain (or enable) a backend; null when the live script has no backend of that name */
  setDrained(name: string, drain: boolean): Promise<Record<string, unknown> | null>;
}

/** the admin source of one process: its own metrics registry and backend states */
export function localSource(target: AdminTarget, metrics: ProxyMetrics): AdminSource {
  return {
    get contentType() { return metrics.contentType; },
    metrics: () => metrics.metrics(),
    status: (admin) => Promise.resolve(buildStatus(target, metrics, admin)),
    setDrained(name, drain) {
      const b = target.config.backendSet.byName.get(name);
      if (!b) return Promise.resolve(null);
      b.setDrained(drain);
      return Promise.resolve(b.view());
    },
  };
}

export class AdminServer {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly loopback: boolean;
  /** the script's last non-empty token: a reload that drops it does not open a public listener */
  private lastToken: string | null = null;

  constructor(
    private readonly target: AdminControl,
    private readonly source: AdminSource,
    private readonly opts: AdminServerOptions,
  ) {
    this.loopback = isLoopback(opts.listen.host);
    this.server = http.createServer({ requireHostHeader: false }, (req, res) => {
      this.handle(req, res).catch((e: Error) => {
        this.opts.log.error({ err: e, admin: req.url }, `admin request failed: ${e.message}`);
        if (!res.headersSent) json(res, 500, { error: e.message });
        else res.destroy();
      });
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (_e, socket: Socket) => socket.destroy());
  }

  get address(): AddressInfo | null {
    return (this.server.address() as AddressInfo | null) ?? null;
  }

  /** "host:port" as bound */
  get where(): string {
    const a = this.address;
    if (!a) return `${this.opts.listen.host}:${this.opts.listen.port}`;
    return `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }

  private token(): string | null {
    if (this.opts.token) return this.opts.token;
    const t = this.target.config.settings.admin.token;
    if (t) this.lastToken = t;
    return t || (this.loopback ? null : this.lastToken);
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = this.opts.listen;
    assertAdminSafe(this.opts.listen, this.token());
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(new LpxError('LPX_ADMIN_LISTEN', `cannot listen for admin on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the address is already in use' : e.message}`, { cause: e }));
      };
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.removeListener('error', onError);
        this.server.on('error', (e) => this.opts.log.error({ err: e }, 'admin listener error'));
        resolve();
      });
    });
    return this.address!;
  }

  /** after a reload: the admin listener is bound once, so say when the script asks for another address */
  noteReload(): void {
    const want = this.target.config.settings.admin.listen;
    if (this.opts.fixedListen || !want) return;
    const { host, port } = this.opts.listen;
    if (want !== `${host}:${port}` && want !== `[${host}]:${port}`) {
      this.opts.log.warn({ admin: this.where, wanted: want }, `admin.listen changed to ${want}; the admin listener stays on ${this.where} until a restart`);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const token = this.token();

    if (token === null && !hostIsLoopback(req)) {
      return json(res, 403, { error: 'the admin listener has no token, so it only answers requests for a loopback host (127.0.0.1, [::1], localhost)' });
    }
    if (method === 'GET' && path === '/') {
      // the page is a static shell; the data comes from /status, which checks the token
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': PAGE_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(statusPage);
      return;
    }
    if (token !== null && !tokenMatches(req, token)) {
      res.setHeader('www-authenticate', 'Bearer realm="luaproxy admin"');
      return json(res, 401, { error: 'missing or wrong token: send Authorization: Bearer <admin.token>' });
    }

    if (path === '/metrics') {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
      const body = await this.source.metrics();
      res.writeHead(200, { 'content-type': this.source.contentType, 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/status') {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
      return json(res, 200, await this.source.status(this.where));
    }

    const action = /^\/backends\/([^/]+)\/(drain|enable)$/.exec(path);
    if (path === '/reload' || action) {
      if (method !== 'POST') return notAllowed(res, 'POST');
      if (crossOrigin(req)) return json(res, 403, { error: 'cross-origin requests may not change the proxy' });
    }
    if (path === '/reload') {
      const force = /(^|&)force=(1|true)(&|$)/.test(q < 0 ? '' : url.slice(q + 1));
      const r = await this.target.reloader.reload('admin', { force });
      return json(res, r.ok ? 200 : 422, r);
    }
    if (action) {
      let name: string;
      try { name = decodeURIComponent(action[1]); } catch { name = action[1]; }
      const drain = action[2] === 'drain';
      const view = await this.source.setDrained(name, drain);
      if (!view) {
        return json(res, 404, { error: `no backend named ${JSON.stringify(name)}`, backends: this.target.config.backendSet.list.map((x) => x.name) });
      }
      this.opts.log.info({ backend: name, drained: drain, client: req.socket.remoteAddress }, `admin: backend ${name} ${drain ? 'drained' : 'enabled'}`);
      return json(res, 200, { ok: true, backend: view });
    }
    return json(res, 404, { error: `no admin endpoint ${method} ${path}`, endpoints: ['GET /', 'GET /metrics', 'GET /status', 'POST /reload', 'POST /backends/NAME/drain', 'POST /backends/NAME/enable'] });
  }
}

/** an admin listener beyond loopback without a token is refused before anything starts */
export function assertAdminSafe(listen: ListenAddress, token: string | null | undefined): void {
  if (isLoopback(listen.host) || token) return;
  throw new LpxError('LPX_ADMIN_INSECURE', `admin listener ${listen.host}:${listen.port} is not a loopback address, so it needs a token: set admin = { token = "..." } in the script or the LUAPROXY_ADMIN_TOKEN environment variable, or listen on 127.0.0.1`);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  json(res, 405, { error: `method not allowed; use ${allow}` });
}
