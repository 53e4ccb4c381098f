/**
 * The traffic listener and the request path: normalize the host, make the one Lua call
 * for this request, then forward, answer directly, or answer an error. The current
 * Config is read once per request, so a reload never changes a request mid-way.
 *
 * The listener is a plain net.Server: each connection is a ClientConn (src/proxy/client.ts)
 * that speaks HTTP/1.1 with the strict parser of src/http1. One sweeper checks every
 * connection's deadline (and its backend attempt's) four times a second, so no request
 * arms a timer of its own.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/logger.js';
import type { Config, ListenerSpec } from '../config/load.js';
import { Listeners, arrivalOf, type Accepted, type IntakeOwner } from './listeners.js';
import type { Settings } from '../config/defaults.js';
import { errorInfo, clientCode, type LpxError, type ErrorCode } from '../core/errors.js';
import { HttpParseError, type RequestHead } from '../http1/parse.js';
import { Upstreams } from './upstreams.js';
import { Forwarder, type ForwardHooks } from './forward.js';
import { Tunnels } from './upgrade.js';
import { Exchange } from './exchange.js';
import { ClientConn, type ConnOwner, type Downstream } from './client.js';
import { H2Session, type H2Owner, type H2Stream } from './h2.js';
import { sendError, sendDirect, rawError } from './respond.js';
import { logKind, type Decision } from '../core/decision.js';
import { decide } from '../routing/decide.js';
import type { Sample } from '../routing/gate.js';
import type { BackendState } from '../balancer/backend.js';
import type { Failure } from './classify.js';
import { AccessLog } from './access-log.js';

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
  /** a connection was closed before HTTP: a bad or missing PROXY header, a failed TLS handshake, an abusive HTTP/2 session */
  intakeRefused?(kind: 'proxy_protocol' | 'tls' | 'http2_abuse'): void;
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
    intakeRefused: (k) => { for (const o of list) o.intakeRefused?.(k); },
  };
}

/** how often deadlines are checked (client timeouts, backend header and body timeouts) */
const SWEEP_MS = 250;
/**
 * Bytes a client socket buffers before write() says "full" and the backend is paused. The
 * default (16 KiB) paused and resumed the backend several times for every 64 KiB it read;
 * 64 KiB lets each backend read go out whole, and keeps the proxy's share of a slow
 * reader's data bounded (test/reliability/slow-readers measures it).
 */
export const SOCKET_HWM = 64 * 1024;

export class ProxyServer implements ConnOwner, IntakeOwner, H2Owner {
  private cfg: Config;
  private readonly listeners: Listeners;
  private bound = false;
  private readonly conns = new Set<ClientConn>();
  /** client connections speaking HTTP/2 */
  private readonly sessions = new Set<H2Session>();
  readonly upstreams = new Upstreams();
  private readonly forwarder: Forwarder;
  private readonly tunnels: Tunnels;
  private readonly log: Logger;
  private readonly access: AccessLog;
  private readonly observer: Required<ProxyObserver>;
  private sweeper: NodeJS.Timeout | null = null;
  /** requests between arrival and the end of their response */
  active = 0;
  connections = 0;
  closing = false;

  constructor(cfg: Config, opts: ProxyServerOptions) {
    this.cfg = cfg;
    this.log = opts.log;
    this.access = new AccessLog(opts.log);
    this.observer = combine(opts.observers ?? []);
    const outcome = (x: Exchange, b: BackendState, ok: boolean, f: Failure | null) => this.observer.backendOutcome(x, b, ok, f);
    this.tunnels = new Tunnels(outcome);
    const hooks: ForwardHooks = { outcome, tunnel: (x, conn, up, head, rest) => this.tunnels.start(x, conn, up, head, rest) };
    this.forwarder = new Forwarder(this.upstreams, this.log, hooks);
    this.listeners = new Listeners(this, this.log, SOCKET_HWM);
  }

  get config(): Config {
    return this.cfg;
  }

  get settings(): Settings {
    return this.cfg.settings;
  }

  get address(): AddressInfo | null {
    return this.listeners.address;
  }

  /** every listener's bound address, in the script's order */
  addresses(): Array<{ spec: ListenerSpec; address: AddressInfo }> {
    return this.listeners.addresses();
  }

  get openTunnels(): number {
    return this.tunnels.open.size;
  }

  async listen(): Promise<AddressInfo> {
    await this.listeners.apply(this.cfg);
    this.bound = true;
    if (this.sweeper === null) {
      this.sweeper = setInterval(this.sweep, SWEEP_MS);
      this.sweeper.unref();
    }
    return this.address!;
  }

  /**
   * Swap in a new config in one step. Addresses it lists that are not bound yet are bound
   * first; if one fails, this throws and the old config and listeners stay.
   */
  async swap(next: Config): Promise<void> {
    if (this.bound) await this.listeners.apply(next);
    this.cfg = next;
    next.backendSet.attach();
    this.upstreams.retain(next.backends, next.settings);
  }

  /** a connection made it through intake (PROXY header, TLS): HTTP starts */
  accepted(c: Accepted): void {
    if (c.h2 === true) this.sessions.add(new H2Session(this, c.socket, c.remote, c.remotePort, arrivalOf(c.socket, true)));
    else this.conns.add(new ClientConn(this, c.socket, c.remote, c.tls, c.remotePort));
    this.connections++;
    this.observer.connections(1);
  }

  /** a connection failed before HTTP started */
  refused(kind: 'proxy_protocol' | 'tls', why: string, peer: string): void {
    this.observer.intakeRefused(kind);
    // a TLS handshake that fails is common (scanners, old clients): debug; a bad PROXY header means a misconfigured balancer
    if (kind === 'tls') this.log.debug({ client: peer, kind }, `TLS handshake failed: ${why}`);
    else this.log.warn({ client: peer, kind }, `connection closed: ${why}`);
  }

  /** an HTTP/2 connection closed */
  h2Closed(s: H2Session): void {
    if (!this.sessions.delete(s)) return;
    this.connections--;
    this.observer.connections(-1);
  }

  /** an HTTP/2 session was closed for abuse */
  h2Abuse(s: H2Session, why: string): void {
    this.observer.intakeRefused('http2_abuse');
    this.log.warn({ client: s.remote, kind: 'http2' }, `HTTP/2 session closed: ${why}`);
  }

  /** an HTTP/2 stream whose header list is not a valid request */
  badStream(s: H2Stream, err: HttpParseError): void {
    this.observer.clientError(err.status);
    this.log.warn({ code: clientCode(err.status), status: err.status, client: s.remote }, `bad request from client: ${err.message}`);
  }

  /** a connection closed */
  closed(conn: ClientConn): void {
    if (!this.conns.delete(conn)) return;
    this.connections--;
    this.observer.connections(-1);
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    for (const c of this.conns) {
      if (c.deadline > 0 && now >= c.deadline) c.expired();
      const r = c.responder;
      if (r !== null && r.deadline > 0 && now >= r.deadline) r.onDeadline();
    }
    for (const s of this.sessions) s.sweep(now);
  };

  /** a malformed request head, or a client too slow to send one: answer and close */
  badRequest(conn: ClientConn, err: HttpParseError | Error): void {
    const code = clientCode(err instanceof HttpParseError ? err.status : 400);
    const status = errorInfo(code).status;
    this.observer.clientError(status);
    this.log.warn({ code, status, client: conn.remote }, `bad request from client: ${err.message}`);
    const x = conn.x;
    if (x !== null) {
      // a request already under way (its body was too slow)
      x.error = code;
      x.errorDetail = err.message;
      x.status = status;
      conn.closeAfter = true;
      sendError(conn, x, code, err.message);
      return;
    }
    rawError(conn, code, code === 'LPX_CLIENT_BAD_REQUEST' ? `malformed request (${err.message})` : undefined);
  }

  /** answer an error the proxy found itself, with its catalog status; `msg` defaults to the code's title */
  private reject(conn: Downstream, x: Exchange, code: ErrorCode, msg?: string): void {
    x.status = errorInfo(code).status;
    if (x.error === null) x.error = code;
    sendError(conn, x, code, msg);
  }

  /** a request head arrived (on an HTTP/1.1 connection or an HTTP/2 stream) */
  request(conn: Downstream, head: RequestHead): void {
    const x = new Exchange(head, this.cfg, conn.remote, conn.socket, conn.arrival, conn.remotePort);
    conn.x = x;
    this.active++;
    if (head.method === 'CONNECT') {
      conn.closeAfter = true;
      this.reject(conn, x, 'LPX_CLIENT_METHOD_NOT_ALLOWED');
      return;
    }
    if (head.expect !== null) {
      if (head.expect.toLowerCase() !== '100-continue') {
        conn.closeAfter = true;
        this.reject(conn, x, 'LPX_CLIENT_EXPECTATION_FAILED', `unsupported expectation ${JSON.stringify(head.expect)}`);
        return;
      }
      conn.expectContinue = head.minor === 1;
    }
    if (conn instanceof ClientConn && head.connectionUpgrade && head.upgrade !== null && head.minor === 1) {
      // an upgrade request: the connection closes after its response unless it becomes a tunnel
      conn.closeAfter = true;
      const proto = head.upgrade.split(',')[0].trim().toLowerCase();
      if (proto !== '' && head.method === 'GET' && this.cfg.settings.upgrade.protocols.includes(proto)) {
        x.upgrade = proto;
        conn.noBody();
      }
    }
    const d = decide(this.cfg, x);
    x.decision = d;
    switch (d.kind) {
      case 'backend':
        this.forwarder.forward(x, conn, d.index, x.target, d.headers, d.hashKey);
        return;
      case 'respond':
        x.status = d.status;
        sendDirect(conn, x, d.status, d.headers, d.body);
        return;
      case 'none':
        this.reject(conn, x, 'LPX_ROUTE_NONE');
        return;
      case 'refused':
        this.reject(conn, x, d.code, d.reason);
        return;
      case 'error': {
        const err = d.error;
        x.error = err.code;
        x.errorDetail = err.message;
        x.traceback = err.traceback ?? null;
        this.observer.scriptError(err);
        // the client gets the code's fixed title, never the script's message; the log gets the rest
        this.reject(conn, x, err.code);
      }
    }
  }

  // recent routed requests, as three rings (no allocation per request)
  private readonly sampleHeads: RequestHead[] = [];
  private readonly sampleClients: string[] = [];
  private readonly sampleDecisions: Decision[] = [];
  private sampleAt = 0;

  /** recent routed requests (up to 256, oldest first) with what the live script decided, for dry-running a new script */
  recentSamples(): Sample[] {
    // oldest first: the ring from the next write position round to the last write
    const n = this.sampleHeads.length;
    const out: Sample[] = [];
    for (let k = 0; k < n; k++) {
      const i = (this.sampleAt + k) % n;
      out.push({ head: this.sampleHeads[i], client: this.sampleClients[i], decision: this.sampleDecisions[i] });
    }
    return out;
  }

  /** a request is over (answered, failed, or its client left) */
  finish(x: Exchange): void {
    this.active--;
    const d = x.decision;
    if (x.error === null && d !== null && d.kind !== 'refused' && d.kind !== 'error') {
      this.sampleHeads[this.sampleAt] = x.head;
      this.sampleClients[this.sampleAt] = x.client;
      this.sampleDecisions[this.sampleAt] = d;
      this.sampleAt = (this.sampleAt + 1) & 255;
    }
    const ms = performance.now() - x.start;
    if (x.clientGone && x.status === 0) x.status = 499;
    this.observer.request(x, ms);
    // one line per request; a failed request's line carries the failure (at warn or error level)
    const level = x.status >= 500 ? 'error' : x.error !== null && x.error !== 'LPX_ROUTE_NONE' ? 'warn' : 'info';
    if (x.cfg.settings.log.access || level !== 'info') {
      this.access.write(level, {
        method: x.method,
        host: x.host,
        path: x.path,
        status: x.status,
        route: logKind(x.decision),
        backend: x.backend?.name ?? null,
        ms,
        upstream_ms: x.upstreamMs,
        bytes: x.bytes,
        retries: x.retries,
        error: x.error,
        detail: x.errorDetail ?? undefined,
        traceback: x.traceback ?? undefined,
        client: x.client,
        http: x.httpVersion,
      });
    }
    if (this.closing && this.active === 0) this.onDrained?.();
  }

  private onDrained: (() => void) | null = null;

  /**
   * Graceful shutdown: stop accepting, close idle keep-alive connections, let in-flight
   * requests finish until the deadline (each connection closes after its response), then
   * close whatever is left.
   */
  async close(deadlineMs = this.cfg.settings.timeouts.shutdown * 1000): Promise<{ forced: boolean }> {
    this.closing = true;
    this.listeners.close();
    for (const c of this.conns) if (c.idle) c.socket.destroy();
    // HTTP/2: GOAWAY; streams under way finish, the session closes after the last
    for (const s of this.sessions) { if (s.idleNow) s.destroy(); else s.close(); }
    let forced = false;
    if (this.active > 0) {
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); this.onDrained = null; resolve(); };
        const timer = setTimeout(() => { forced = true; done(); }, deadlineMs);
        this.onDrained = done;
      });
    }
    for (const c of this.conns) c.socket.destroy();
    for (const s of this.sessions) s.destroy();
    this.tunnels.closeAll();
    if (this.sweeper) { clearInterval(this.sweeper); this.sweeper = null; }
    await this.upstreams.closeAll(forced);
    return { forced };
  }
}
