/**
 * Keep-alive connections to backends: one pool per backend origin and pool settings, each
 * a LIFO stack of idle sockets (the warmest first) plus a count of busy ones. A connection
 * has four permanent listeners that hand events to whoever uses it now, so a request adds
 * and removes no listener. An idle connection that receives anything (a late second
 * response, a close) is destroyed, never handed out. A reload keeps the pools of origins
 * that stay and closes the others once their requests are done.
 *
 * A pool dials its backend as the backend entry says (src/proxy/dial.ts: https
 * verification, the PROXY header). A connection that opened with a PROXY header names one
 * client, so those pools never reuse one: each request opens its own and closes it after.
 *
 * Why our own and not undici: the request path parses the backend's response head itself
 * (src/http1) and forwards the body bytes as they arrive, so undici's parser, header
 * objects and dispatcher would be a second parse of every response. undici remains what
 * the health checker and the tests use.
 */
import crypto from 'node:crypto';
import type { Socket } from 'node:net';
import type { Settings } from '../config/defaults.js';
import type { ErrorCode } from '../core/errors.js';
import { backendProxyHeader, type ClientEnds } from './backend-proxy-header.js';
import { Dialer, type PoolTarget } from './dial.js';

export type { PoolTarget } from './dial.js';

/** whoever uses a connection now: an attempt to forward a request, or a tunnel */
export interface UpstreamUser {
  onUpData(chunk: Buffer): void;
  /** the backend closed its side (FIN) */
  onUpEnd(): void;
  /** the socket closed; `err` is what closed it (ECONNRESET...), null for a clean close */
  onUpClose(err: Error | null): void;
  onUpDrain(): void;
}

/** a request waiting for a connection */
export interface Acquirer {
  acquired(err: Error | null, conn: UpConn | null): void;
}

/** bytes per read from a backend socket */
const READ_SIZE = 64 * 1024;

export class UpConn {
  user: UpstreamUser | null = null;
  /** requests this connection finished before the current one */
  uses = 0;
  idleAt = 0;
  /**
   * The read buffer is still referenced by a write queued on another socket (the client
   * was slower than the backend): the next read goes to a fresh buffer. Users set this.
   */
  lent = false;
  private err: Error | null = null;

  constructor(readonly pool: OriginPool, readonly socket: Socket, private rbuf: Buffer | null) {
    // plain TCP reads into one reused buffer (no 64 KiB allocation per read); TLS sockets emit 'data'
    if (rbuf === null) {
      socket.on('data', (d: Buffer) => {
        const u = this.user;
        if (u !== null) u.onUpData(d);
        else socket.destroy(); // bytes nobody asked for: this connection can no longer be trusted
      });
    }
    socket.on('end', () => {
      const u = this.user;
      if (u !== null) u.onUpEnd();
      else socket.destroy();
    });
    socket.on('error', (e: Error) => { this.err = e; });
    socket.on('close', () => {
      this.pool.dropped(this);
      const u = this.user;
      this.user = null;
      u?.onUpClose(this.err);
    });
    socket.on('drain', () => this.user?.onUpDrain());
  }

  /** the onread callback of a plain TCP connection: b[0, n) was read */
  read(n: number, b: Buffer): void {
    const u = this.user;
    if (u !== null) u.onUpData(b.subarray(0, n));
    else this.socket.destroy();
  }

  /** the buffer for the next read */
  nextBuffer(): Buffer {
    if (this.lent || this.rbuf === null) {
      this.lent = false;
      this.rbuf = Buffer.allocUnsafe(READ_SIZE);
    }
    return this.rbuf;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }
}

/**
 * A socket's `onread` (buffer and callback), which the socket keeps for its whole life. It
 * is its own object, so it holds the connection and nothing else: as closures inside
 * OriginPool.open it shared their context with the request that opened the connection,
 * and kept that Attempt, its Exchange and the Config of the moment (and the first read
 * buffer) alive as long as the connection (test/pool-keeps-no-request.test.ts).
 */
class ReadInto {
  private conn: UpConn | null = null;
  constructor(public first: Buffer | null) {}

  attach(conn: UpConn): void {
    this.conn = conn;
    this.first = null;
  }

  readonly buffer = (): Buffer => (this.conn === null ? this.first! : this.conn.nextBuffer());

  readonly callback = (n: number, b: Buffer): boolean => {
    this.conn?.read(n, b);
    return true;
  };
}

export class OriginPool {
  private readonly idle: UpConn[] = [];
  private busy = 0;
  private connecting = 0;
  private readonly waiters: Acquirer[] = [];
  /** the PROXY header of each waiter, for the connection opened when its turn comes */
  private readonly prefaces = new WeakMap<Acquirer, Buffer>();
  private readonly dialer: Dialer;
  readonly origin: string;
  /** PROXY protocol version, or null; such a pool never reuses a connection */
  private readonly proxyProtocol: 'v1' | 'v2' | null;
  private closedResolve: (() => void) | null = null;
  /** no new connections; each one closes when its request is done */
  closed = false;

  constructor(
    target: PoolTarget,
    connectMs: number,
    readonly idleMs: number,
    private readonly max: number,
  ) {
    this.origin = target.origin;
    this.dialer = new Dialer(target, connectMs);
    this.proxyProtocol = target.proxyProtocol ?? null;
  }

  /**
   * An idle connection or a new one; `a.acquired` is called at once when one is idle.
   * `from` is the request's client, which a PROXY protocol pool names in its header.
   */
  acquire(a: Acquirer, from: ClientEnds | null = null): void {
    if (this.proxyProtocol !== null) {
      if (from === null) { a.acquired(new Error(`${this.origin} expects a PROXY header, and no client was given for it`), null); return; }
      const preface = backendProxyHeader(this.proxyProtocol, from);
      if (this.max > 0 && this.busy + this.connecting >= this.max) { this.prefaces.set(a, preface); this.waiters.push(a); return; }
      this.open(a, preface);
      return;
    }
    const c = this.take();
    if (c !== null) { a.acquired(null, c); return; }
    if (this.max > 0 && this.busy + this.connecting >= this.max) { this.waiters.push(a); return; }
    this.open(a, null);
  }

  /** forget a waiter (its client left) */
  cancel(a: Acquirer): void {
    const i = this.waiters.indexOf(a);
    if (i >= 0) this.waiters.splice(i, 1);
    this.prefaces.delete(a);
  }

  private take(): UpConn | null {
    for (;;) {
      const c = this.idle.pop();
      if (c === undefined) return null;
      if (c.destroyed) continue;
      this.busy++;
      return c;
    }
  }

  private open(a: Acquirer, preface: Buffer | null): void {
    this.connecting++;
    // plain TCP reads into one reused buffer per connection (UpConn.nextBuffer)
    const reader = this.dialer.secure ? null : new ReadInto(Buffer.allocUnsafe(READ_SIZE));
    this.dialer.dial(preface, reader, (err, socket) => {
      this.connecting--;
      if (err !== null || socket === null) {
        a.acquired(err, null);
        this.next();
        return;
      }
      this.busy++;
      const conn = new UpConn(this, socket, reader?.first ?? null);
      reader?.attach(conn);
      a.acquired(null, conn);
    });
  }

  /** the request on `c` is done and the connection may carry another */
  release(c: UpConn): void {
    if (this.proxyProtocol !== null) { this.discard(c); return; } // it named one client: never reused
    c.user = null;
    this.busy--;
    if (c.destroyed) { this.next(); return; }
    if (this.closed) { c.socket.destroy(); this.settle(); return; }
    c.uses++;
    const w = this.waiters.shift();
    if (w !== undefined) { this.busy++; w.acquired(null, c); return; }
    c.idleAt = performance.now();
    this.idle.push(c);
  }

  /** the request on `c` is done and the connection must close (or was taken over by a tunnel) */
  discard(c: UpConn, destroy = true): void {
    c.user = null;
    this.busy--;
    if (destroy) c.socket.destroy();
    this.next();
  }

  /** a connection closed (any state): forget it if it was idle */
  dropped(c: UpConn): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** a slot opened: start the next waiter's connection */
  private next(): void {
    this.settle();
    if (this.waiters.length === 0 || this.closed) return;
    if (this.max > 0 && this.busy + this.connecting >= this.max) return;
    const w = this.waiters.shift()!;
    const preface = this.prefaces.get(w) ?? null;
    this.prefaces.delete(w);
    this.open(w, preface);
  }

  /** close idle connections older than the idle timeout */
  sweep(now: number): void {
    while (this.idle.length > 0 && now - this.idle[0].idleAt >= this.idleMs) this.idle.shift()!.socket.destroy();
  }

  /** stop: idle connections close now, busy ones when their request is done */
  close(): Promise<void> {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.socket.destroy();
    for (const w of this.waiters.splice(0)) w.acquired(Object.assign(new Error('the pool was closed'), { code: 'LPX_UPSTREAM_POOL_CLOSED' satisfies ErrorCode }), null);
    if (this.busy === 0 && this.connecting === 0) return Promise.resolve();
    return new Promise((resolve) => { this.closedResolve = resolve; });
  }

  private settle(): void {
    if (this.closed && this.busy === 0 && this.connecting === 0 && this.closedResolve) {
      this.closedResolve();
      this.closedResolve = null;
    }
  }

  get idleCount(): number {
    return this.idle.length;
  }

  get busyCount(): number {
    return this.busy;
  }
}

export class Upstreams {
  private pools = new Map<string, OriginPool>();
  /** pool keys of the live config, once a reload has happened */
  private live: Set<string> | null = null;
  private sweeper: NodeJS.Timeout | null = null;

  // pool keys of the last settings object seen: get() runs once per request, and the
  // settings only change on reload, so the key is not rebuilt every time
  private keysFor: Settings | null = null;
  private keys = new Map<PoolTarget, string>();

  /** one pool per origin, connection options and pool settings: backends that differ in any of them share no connection */
  private key(t: PoolTarget, s: Settings): string {
    if (s !== this.keysFor) { this.keysFor = s; this.keys = new Map(); }
    let k = this.keys.get(t);
    if (k === undefined) {
      const ca = t.ca ? crypto.createHash('sha256').update(t.ca.pem).digest('hex').slice(0, 16) : '';
      k = `${t.origin}|${t.verify ?? true}|${t.servername ?? ''}|${ca}|${t.proxyProtocol ?? ''}|${s.timeouts.connect}|${s.timeouts.backend_idle}|${s.limits.backend_connections}`;
      this.keys.set(t, k);
    }
    return k;
  }

  get(t: PoolTarget, s: Settings): OriginPool {
    const k = this.key(t, s);
    let p = this.pools.get(k);
    if (p === undefined) {
      p = new OriginPool(t, s.timeouts.connect * 1000, s.timeouts.backend_idle * 1000, s.limits.backend_connections);
      if (this.live && !this.live.has(k)) {
        // a request of an older config (a retry after a reload) to an origin the live
        // config dropped: serve it on a pool of its own, closed once its request is done
        const orphan = p;
        queueMicrotask(() => { orphan.close().catch(() => {}); });
        return p;
      }
      this.pools.set(k, p);
      if (this.sweeper === null) {
        this.sweeper = setInterval(() => {
          const now = performance.now();
          for (const pool of this.pools.values()) pool.sweep(now);
        }, 500);
        this.sweeper.unref();
      }
    }
    return p;
  }

  /** keep the pools the new backends use; close the rest gracefully (in-flight requests finish) */
  retain(targets: readonly PoolTarget[], s: Settings): void {
    const keep = new Set(targets.map((t) => this.key(t, s)));
    this.live = keep;
    for (const [k, p] of this.pools) {
      if (keep.has(k)) continue;
      this.pools.delete(k);
      p.close().catch(() => {});
    }
  }

  async closeAll(force = false): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    if (this.sweeper) { clearInterval(this.sweeper); this.sweeper = null; }
    // forced: idle connections close now and busy ones close with their requests, without waiting for them
    const closing = all.map((p) => p.close());
    if (!force) await Promise.all(closing);
  }

  get size(): number {
    return this.pools.size;
  }
}

