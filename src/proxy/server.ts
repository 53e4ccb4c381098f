/**
 * The traffic listener and the request path: normalize the host, make the one Lua call
 * for this request, then forward, answer directly, or answer an error. The current
 * Config is read once per request, so a reload never changes a request mid-way.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket, AddressInfo } from 'node:net';
import type { Logger } from '../core/logger.js';
import type { Config, ListenAddress } from '../config/load.js';
import { LpxError, isLpxError } from '../core/errors.js';
import { HostCache } from '../core/host.js';
import { needsNormalizing, normalizePath } from '../core/path.js';
import { Upstreams } from './upstreams.js';
import { Forwarder, type ForwardHooks } from './forward.js';
import { Tunnels } from './upgrade.js';
import { Exchange } from './exchange.js';
import { sendError, sendDirect, rawError, rawDirect } from './respond.js';
import type { RouteOutcome } from '../lua/script.js';
import type { BackendState } from '../balancer/backend.js';
import type { Failure } from './classify.js';

/** the timer that closes a connection which sends no complete request head in time */
const FIRST_HEAD = Symbol('luaproxy.firstHeadTimer');
type Watched = Socket & { [FIRST_HEAD]?: NodeJS.Timeout | null };

/** what the proxy tells the layers above it (metrics, passive health) */
export interface ProxyObserver {
  /** a request finished (response sent, failed, or the client left) */
  request?(x: Exchange, durationMs: number): void;
  /** a backend answered or failed */
  backendOutcome?(x: Exchange, backend: BackendState, ok: boolean, failure: Failure | null): void;
  /** route() failed for a request */
  scriptError?(err: LpxError): void;
  connections?(delta: number): void;
  clientError?(status: number): void;
}

export interface ProxyServerOptions {
  log: Logger;
  /** every observer is told of every event (metrics, passive health, ...) */
  observers?: ProxyObserver[];
}

/** fan one event out to several observers */
function combine(list: ProxyObserver[]): Required<ProxyObserver> {
  return {
    request: (x, ms) => { for (const o of list) o.request?.(x, ms); },
    backendOutcome: (x, b, ok, f) => { for (const o of list) o.backendOutcome?.(x, b, ok, f); },
    scriptError: (e) => { for (const o of list) o.scriptError?.(e); },
    connections: (d) => { for (const o of list) o.connections?.(d); },
    clientError: (s) => { for (const o of list) o.clientError?.(s); },
  };
}

export class ProxyServer {
  private cfg: Config;
  private server: http.Server | null = null;
  private readonly retiring = new Set<http.Server>();
  private readonly hosts = new HostCache();
  readonly upstreams = new Upstreams();
  private readonly forwarder: Forwarder;
  private readonly tunnels: Tunnels;
  private readonly log: Logger;
  private readonly observer: Required<ProxyObserver>;
  /** requests between arrival and the end of their response */
  active = 0;
  connections = 0;
  private closing = false;

  constructor(cfg: Config, opts: ProxyServerOptions) {
    this.cfg = cfg;
    this.log = opts.log;
    this.observer = combine(opts.observers ?? []);
    const hooks: ForwardHooks = { outcome: (x, b, ok, f) => this.observer.backendOutcome(x, b, ok, f) };
    this.forwarder = new Forwarder(this.upstreams, this.log, hooks);
    this.tunnels = new Tunnels(this.upstreams, hooks);
  }

  get config(): Config {
    return this.cfg;
  }

  get address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  get openTunnels(): number {
    return this.tunnels.open.size;
  }

  async listen(): Promise<AddressInfo> {
    this.server = await this.bind(this.cfg.listen, this.cfg);
    return this.address!;
  }

  /**
   * Swap in a new config in one step. When its listen address differs, the new address
   * is bound first; if that fails, this throws and the old config and listener stay.
   */
  async swap(next: Config): Promise<void> {
    const prev = this.cfg;
    const moved = next.listen.host !== prev.listen.host || next.listen.port !== prev.listen.port;
    let fresh: http.Server | null = null;
    if (moved && this.server) fresh = await this.bind(next.listen, next);
    this.cfg = next;
    next.backendSet.attach();
    this.applyTimeouts(this.server, next);
    if (fresh) {
      const old = this.server!;
      this.server = fresh;
      this.retire(old);
    }
    this.upstreams.retain(next.backends.map((b) => b.origin), next.settings);
  }

  private retire(old: http.Server): void {
    this.retiring.add(old);
    old.close(() => this.retiring.delete(old));
    old.closeIdleConnections();
  }

  private bind(addr: ListenAddress, cfg: Config): Promise<http.Server> {
    const s = cfg.settings;
    const server = http.createServer({
      keepAlive: true,
      maxHeaderSize: s.limits.header_size,
      joinDuplicateHeaders: false,
      noDelay: true,
      requireHostHeader: true,
      // Node checks header/request timeouts only this often (default 30 s, which let a
      // slowloris client outlive timeouts.client_header by up to 30 s)
      connectionsCheckingInterval: 1000,
    });
    // no count limit (Node's default silently drops headers past 1000); header_size bounds them
    server.maxHeadersCount = 0;
    this.applyTimeouts(server, cfg);
    server.on('request', this.onRequest);
    server.on('upgrade', this.onUpgrade);
    server.on('clientError', this.onClientError);
    server.on('connection', (socket: Watched) => {
      this.connections++;
      this.observer.connections(1);
      // Node's headersTimeout misses a connection that sends nothing, or stalls inside its
      // first request head without sending more: give the first head its own deadline
      const headMs = this.cfg.settings.timeouts.client_header * 1000;
      if (headMs > 0) {
        const t = setTimeout(() => {
          socket[FIRST_HEAD] = null;
          this.onClientError(Object.assign(new Error('no complete request head within timeouts.client_header'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
        }, headMs);
        t.unref();
        socket[FIRST_HEAD] = t;
      }
      socket.once('close', () => {
        this.connections--;
        this.observer.connections(-1);
        firstHeadArrived(socket);
      });
    });
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        server.removeListener('listening', onListening);
        const why = e.code === 'EADDRINUSE' ? 'the address is already in use' : e.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : e.code === 'EADDRNOTAVAIL' ? 'the address is not on this machine' : e.message;
        reject(Object.assign(new Error(`cannot listen on ${addr.host}:${addr.port}: ${why}`), { code: e.code, cause: e }));
      };
      const onListening = () => {
        server.removeListener('error', onError);
        server.on('error', (e) => this.log.error({ err: e }, 'listener error'));
        resolve(server);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host: addr.host, port: addr.port, backlog: 1024 });
    });
  }

  private applyTimeouts(server: http.Server | null, cfg: Config): void {
    if (!server) return;
    const t = cfg.settings.timeouts;
    server.keepAliveTimeout = t.client_idle * 1000;
    server.headersTimeout = t.client_header * 1000;
    server.requestTimeout = t.client_request * 1000;
    server.maxConnections = cfg.settings.limits.client_connections;
  }

  /** decide for one request; returns null when an answer was already sent */
  /** answer an error the proxy found itself, on the response or, for an upgrade request, the raw socket */
  private reject(x: Exchange, status: number, code: LpxError['code'], msg: string): void {
    x.status = status;
    if (x.error === null) x.error = code;
    if (x.res) sendError(x.res, status, code, msg);
    else rawError(x.upgradeSocket!, status, code, msg);
  }

  /** decide for one request (the one Lua call); null when an answer was already sent. Sets x.target. */
  private decide(x: Exchange, url: string): RouteOutcome | null {
    const req = x.req;
    let rawHost = req.headers.host;
    if (url.charCodeAt(0) !== 47 /* "/" */) {
      // absolute-form (a request meant for a forward proxy): its authority wins over Host
      let u: URL | null = null;
      if (/^http:\/\//i.test(url)) try { u = new URL(url); } catch { u = null; }
      if (!u || u.username || u.password) {
        this.reject(x, 400, 'LPX_CLIENT_BAD_REQUEST', url === '*' ? 'asterisk-form requests (OPTIONS *) are not forwarded' : 'the request target must be a path ("/...") or an http:// URL');
        return null;
      }
      rawHost = u.host;
      url = u.pathname + u.search;
      // RFC 9112 3.2.2: the target's authority replaces the Host header, so the backend
      // sees the host the request was routed by
      const raw = req.rawHeaders;
      let had = false;
      for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') { raw[i + 1] = u.host; had = true; }
      if (!had) raw.push('Host', u.host);
      req.headers.host = u.host;
    } else if (rawHost !== undefined && hostCount(req.rawHeaders) > 1) {
      // RFC 9112 3.2: more than one Host is a 400, never "the first one wins"
      this.reject(x, 400, 'LPX_CLIENT_BAD_REQUEST', 'more than one Host header');
      return null;
    }
    const host = this.hosts.get(rawHost);
    if (host === null) {
      this.reject(x, 400, 'LPX_CLIENT_BAD_REQUEST', 'invalid Host header');
      return null;
    }
    const hostBytes = host.bytes;
    x.hostBytes = hostBytes;
    x.host = host.text;
    let q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    if (needsNormalizing(path)) {
      // route and backend must see the same path: /x/../admin is /admin to both
      const n = normalizePath(path);
      if (n !== path) {
        url = n + (q < 0 ? '' : url.slice(q));
        q = q < 0 ? -1 : n.length;
        path = n;
      }
    }
    x.path = path;
    let outcome: RouteOutcome;
    try {
      x.pathBytes = Buffer.from(path, 'latin1');
      x.cfg.backendSet.beginRoute(); // failover follows this call's proxy.hash key, if any
      outcome = x.cfg.route(hostBytes, x.pathBytes, req);
    } catch (e) {
      const err = isLpxError(e) ? e : new LpxError('LPX_ROUTE_ERROR', String((e as Error)?.message ?? e), { cause: e });
      x.error = err.code;
      x.errorDetail = err.message;
      x.traceback = err.traceback ?? null;
      x.decision = 'error';
      this.observer.scriptError(err);
      this.reject(x, 500, err.code, 'the routing script failed for this request (see the proxy log)');
      return null;
    }
    x.decision = outcome.kind === 'backend' ? 'forward' : outcome.kind;
    x.target = outcome.kind === 'backend' && outcome.path !== null ? outcome.path + (q < 0 ? '' : url.slice(q)) : url;
    return outcome;
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const x = new Exchange(req, res, this.cfg);
    this.active++;
    firstHeadArrived(req.socket as Watched);
    req.on('error', () => {}); // a client that aborts mid-body: res 'close' handles it
    res.on('close', () => this.finish(x));
    if (this.closing) res.shouldKeepAlive = false;
    const outcome = this.decide(x, req.url ?? '/');
    if (outcome === null) return;
    if (outcome.kind === 'none') this.reject(x, 404, 'LPX_ROUTE_NONE', 'no route for this host and path');
    else if (outcome.kind === 'respond') {
      x.status = outcome.status;
      sendDirect(res, outcome.status, outcome.headers, outcome.body);
    } else this.forwarder.forward(x, outcome.index, x.target, outcome.headers);
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const x = new Exchange(req, null, this.cfg);
    x.upgradeSocket = socket;
    this.active++;
    firstHeadArrived(socket as Watched);
    socket.on('error', () => socket.destroy());
    let finished = false;
    socket.once('close', () => {
      if (!finished) { finished = true; this.finish(x); }
    });
    const outcome = this.decide(x, req.url ?? '/');
    if (outcome === null) return;
    if (outcome.kind === 'none') this.reject(x, 404, 'LPX_ROUTE_NONE', 'no route for this host and path');
    else if (outcome.kind === 'respond') {
      x.status = outcome.status;
      rawDirect(socket, outcome.status, outcome.headers, outcome.body);
    } else this.tunnels.forward(x, socket, head, outcome.index, x.target, outcome.headers);
  };

  private readonly onClientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    const code = err.code ?? '';
    const httpMessage = (socket as unknown as { _httpMessage?: ServerResponse })._httpMessage;
    if (code === 'ECONNRESET' || !socket.writable || (httpMessage && httpMessage.headersSent)) {
      socket.destroy();
      return;
    }
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.observer.clientError(status);
    this.log.warn({ code: status === 431 ? 'LPX_CLIENT_HEADERS_TOO_LARGE' : status === 408 ? 'LPX_CLIENT_TIMEOUT' : 'LPX_CLIENT_BAD_REQUEST', parser: code, client: socket.remoteAddress }, `bad request from client: ${err.message}`);
    rawError(socket, status, status === 431 ? 'LPX_CLIENT_HEADERS_TOO_LARGE' : status === 408 ? 'LPX_CLIENT_TIMEOUT' : 'LPX_CLIENT_BAD_REQUEST', status === 431 ? 'request headers too large' : status === 408 ? 'request timed out' : `malformed request (${code || err.message})`);
  };

  // recent routed requests, as two rings (no allocation per request)
  private readonly sampleHosts: Uint8Array[] = [];
  private readonly samplePaths: Uint8Array[] = [];
  private sampleAt = 0;

  /** recent routed requests (up to 256), for dry-running a new script and measuring moved hosts */
  recentSamples(): Array<{ host: Uint8Array; path: Uint8Array }> {
    // oldest first: the ring from the next write position round to the last write
    const n = this.sampleHosts.length;
    const out: Array<{ host: Uint8Array; path: Uint8Array }> = [];
    for (let k = 0; k < n; k++) {
      const i = (this.sampleAt + k) % n;
      out.push({ host: this.sampleHosts[i], path: this.samplePaths[i] });
    }
    return out;
  }

  private finish(x: Exchange): void {
    this.active--;
    if (x.error === null && x.hostBytes !== null && x.pathBytes !== null) {
      this.sampleHosts[this.sampleAt] = x.hostBytes;
      this.samplePaths[this.sampleAt] = x.pathBytes;
      this.sampleAt = (this.sampleAt + 1) & 255;
    }
    const ms = performance.now() - x.start;
    if (x.clientGone && x.status === 0) x.status = 499;
    this.observer.request(x, ms);
    // one line per request; a failed request's line carries the failure (at warn or error level)
    const level = x.status >= 500 ? 'error' : x.error !== null && x.error !== 'LPX_ROUTE_NONE' ? 'warn' : 'info';
    if (x.cfg.settings.log.access || level !== 'info') {
      this.log[level]({
        method: x.req.method,
        host: x.host,
        path: x.path,
        status: x.status,
        route: x.decision,
        backend: x.backend?.name ?? null,
        ms: Math.round(ms * 100) / 100,
        upstream_ms: x.upstreamMs < 0 ? null : Math.round(x.upstreamMs * 100) / 100,
        bytes: x.bytes,
        retries: x.retries,
        error: x.error,
        detail: x.errorDetail ?? undefined,
        traceback: x.traceback ?? undefined,
        client: x.client,
      }, 'request');
    }
    if (this.closing && this.active === 0) this.onDrained?.();
  }

  private onDrained: (() => void) | null = null;

  /**
   * Graceful shutdown: stop accepting, close idle keep-alive connections, let in-flight
   * requests finish until the deadline, then close whatever is left.
   */
  async close(deadlineMs = this.cfg.settings.timeouts.shutdown * 1000): Promise<{ forced: boolean }> {
    this.closing = true;
    const servers = [this.server, ...this.retiring].filter((s): s is http.Server => s !== null);
    for (const s of servers) { s.close(); s.closeIdleConnections(); }
    let forced = false;
    if (this.active > 0) {
      await new Promise<void>((resolve) => {
        const idle = setInterval(() => { for (const s of servers) s.closeIdleConnections(); }, 100);
        const done = () => { clearTimeout(timer); clearInterval(idle); this.onDrained = null; resolve(); };
        const timer = setTimeout(() => { forced = true; done(); }, deadlineMs);
        this.onDrained = done;
      });
    }
    for (const s of servers) s.closeAllConnections();
    this.tunnels.closeAll();
    await this.upstreams.closeAll(forced);
    return { forced };
  }
}

function firstHeadArrived(socket: Watched): void {
  const t = socket[FIRST_HEAD];
  if (t) {
    clearTimeout(t);
    socket[FIRST_HEAD] = null;
  }
}

/** how many Host headers a request has (duplicates are invisible in req.headers) */
function hostCount(raw: string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') n++;
  return n;
}
