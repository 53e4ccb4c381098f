/**
 * Forwards one request to a backend over a pooled connection and streams the response
 * back, with backpressure both ways: the client is paused while the backend's socket is
 * full, and the backend is paused while the client's is. The backend's response head is
 * parsed strictly (src/http1) and the body bytes go to the client as they arrive, framed
 * by the proxy: the backend's Content-Length, or chunked (re-encoded from the decoded
 * chunks, or each read of a body that ends with the backend's close framed as a chunk),
 * or, for an HTTP/1.0 client, the close. Nothing is buffered whole.
 *
 * A failure before the response started gets an error status (and maybe a retry); a
 * failure after it started closes the client connection, so a truncated body can never
 * look complete.
 */
import type { Logger } from '../core/logger.js';
import type { Upstreams, UpConn, UpstreamUser, Acquirer, OriginPool } from './upstreams.js';
import type { Exchange } from './exchange.js';
import { part, writeChunk, deadlineIn, ClientConn, type Downstream, type BodySink, type Responder } from './client.js';
import { backendRequestHead, F_NONE, F_LENGTH, F_CHUNKED, F_CLOSE, type HeaderOverrides } from './headers.js';
import { classify, isIdempotent, type Failure } from './classify.js';
import { sendError } from './respond.js';
import { headEnd, parseResponseHead, HttpParseError, type ResponseHead } from '../http1/parse.js';
import { ChunkedDecoder, LAST_CHUNK } from '../http1/chunked.js';
import type { BackendState } from '../balancer/backend.js';
import { murmur3 } from '../balancer/hash.js';
import { Limiter, concurrencyLimit } from './limit.js';

export interface ForwardHooks {
  /** a backend answered or failed: feeds passive health */
  outcome(x: Exchange, backend: BackendState, ok: boolean, failure: Failure | null): void;
  /** a backend answered 101 to an upgrade request: splice the two connections */
  tunnel(x: Exchange, conn: ClientConn, up: UpConn, head: ResponseHead, rest: Buffer | null): void;
}

/** failover along the Host's hash order (the script did not return a proxy.hash pick) */
const HOST_KEY = -2;
/** the most bytes of response head accepted from a backend */
const MAX_RESPONSE_HEAD = 64 * 1024;

export class Forwarder {
  readonly limiter = new Limiter();

  constructor(
    private readonly upstreams: Upstreams,
    private readonly log: Logger,
    readonly hooks: ForwardHooks,
  ) {}

  /**
   * Send `x` to backend `index`, or queue it when the backend is at its concurrency
   * limit. `failoverKey` is the key hash whose candidate order a connect failure follows:
   * the decision's hashKey (route returned a proxy.hash pick), or -1 / HOST_KEY to use the
   * Host's (hashed only on failure).
   */
  forward(x: Exchange, conn: Downstream, index: number, path: string, overrides: HeaderOverrides | null, failoverKey = -1): void {
    const cfg = x.cfg;
    const state = cfg.backendSet.list[index];
    x.backend = state;
    x.tried.push(index);
    if (failoverKey < 0) failoverKey = HOST_KEY;
    const limit = concurrencyLimit(cfg.settings.limits);
    if (limit > 0 && (state.forwarding >= limit || state.queued > 0)) {
      this.queue(x, conn, state, index, path, overrides, failoverKey);
      return;
    }
    this.dispatch(x, conn, state, index, path, overrides, failoverKey);
  }

  private queue(x: Exchange, conn: Downstream, state: BackendState, index: number, path: string, overrides: HeaderOverrides | null, failoverKey: number): void {
    const limits = x.cfg.settings.limits;
    const waiting: Responder = { deadline: 0, onDeadline() {}, clientGone: () => cancel?.(), clientDrain() {} };
    conn.responder = waiting;
    const cancel = this.limiter.wait(state, limits, {
      run: () => {
        if (x.clientGone || conn.x !== x) return;
        this.dispatch(x, conn, state, index, path, overrides, failoverKey);
      },
      refuse: (timedOut) => {
        if (x.clientGone || conn.x !== x) return;
        const code = timedOut ? 'LPX_UPSTREAM_QUEUE_TIMEOUT' : 'LPX_UPSTREAM_OVERLOADED';
        x.error = code;
        x.status = 503;
        sendError(conn, x, code, timedOut
          ? `backend ${state.name} is at its limit of ${concurrencyLimit(limits)} requests and this one waited ${limits.queue_timeout}s in its queue`
          : `backend ${state.name} is at its limit of ${concurrencyLimit(limits)} requests and its queue of ${limits.queue} is full`);
      },
    });
  }

  private dispatch(x: Exchange, conn: Downstream, state: BackendState, index: number, path: string, overrides: HeaderOverrides | null, failoverKey: number): void {
    const cfg = x.cfg;
    const a = new Attempt(this, x, conn, state, index, path, overrides, failoverKey);
    conn.responder = a;
    state.inflight++;
    state.forwarding++;
    state.requests++;
    x.dispatchedAt = performance.now();
    a.pool = this.upstreams.get(cfg.backends[index], cfg.settings);
    a.pool.acquire(a, x);
  }

  /** the attempt failed before any response byte went to the client */
  failed(x: Exchange, conn: Downstream, a: Attempt, err: Error): void {
    const failure = classify(err);
    this.hooks.outcome(x, a.state, false, failure.backendFault ? failure : null);
    if (x.clientGone || conn.x !== x) {
      x.error = 'LPX_CLIENT_ABORTED';
      return;
    }
    const cfg = x.cfg;
    if (failure.retry === 'connect' && x.retries < cfg.settings.retries.connect && !a.bodyStarted) {
      const next = this.nextCandidate(x, a.failoverKey);
      if (next >= 0) {
        x.retries++;
        a.state.retries++;
        this.log.warn({ host: x.host, path: x.path, backend: a.state.name, next: cfg.backends[next].name, code: failure.code, err: err.message }, 'backend connect failed; retrying on the next backend');
        this.forward(x, conn, next, a.path, a.overrides, a.failoverKey);
        return;
      }
    }
    if (failure.retry === 'reused' && cfg.settings.retries.reused && !x.reusedRetried && !x.hasBody && isIdempotent(x.method)) {
      x.reusedRetried = true;
      x.retries++;
      a.state.retries++;
      this.forward(x, conn, a.index, a.path, a.overrides, a.failoverKey);
      return;
    }
    x.errorDetail = err.message;
    let code = failure.code;
    let status = failure.status;
    let what = describeFailure(failure.code, a.state, cfg.settings.timeouts, err);
    if (failure.retry === 'connect' && failure.code !== 'LPX_UPSTREAM_TLS' && (cfg.backendSet.panic || this.nextCandidate(x, a.failoverKey) < 0)) {
      // no backend is left to try: all are down, drained or ejected (this was a try in
      // panic mode), or every available one refused this request. A backend whose
      // certificate failed verification is there but misconfigured: that stays a 502.
      code = 'LPX_UPSTREAM_UNAVAILABLE';
      status = 503;
      what = `no backend is available (all are down, drained, ejected, or refused this request); the last try: ${what}`;
    }
    x.error = code;
    x.status = status;
    if (a.bodyStarted && conn.bodyPending) conn.closeAfter = true;
    sendError(conn, x, code, what);
  }

  /** the failover choice: the key's next consistent-hash candidate that is available and was not tried yet */
  private nextCandidate(x: Exchange, key: number): number {
    const set = x.cfg.backendSet;
    if (key === HOST_KEY) key = murmur3(x.hostBytes ?? new Uint8Array(0));
    for (const i of set.hashCandidates(key)) if (!x.tried.includes(i) && set.list[i].available) return i;
    return -1;
  }

  /** a request to `state` ended: a queued one may take its slot */
  released(x: Exchange, state: BackendState): void {
    if (state.queued > 0) this.limiter.release(state, concurrencyLimit(x.cfg.settings.limits));
  }

  /** the response had started when the backend failed: close the client connection */
  broken(x: Exchange, conn: Downstream, a: Attempt, err: Error): void {
    const failure = classify(err);
    this.hooks.outcome(x, a.state, false, failure.backendFault ? failure : null);
    x.error = failure.code;
    x.errorDetail = err.message;
    // With a Content-Length or chunked framing, closing the connection early shows the
    // truncation and lets the client keep what arrived. A close-delimited body would look
    // complete after a FIN, so that client gets a reset instead. An HTTP/2 stream is reset.
    conn.abort(x.closeDelimited);
  }

  completed(x: Exchange, a: Attempt, status: number): void {
    this.hooks.outcome(x, a.state, status < 500, status >= 500 ? { code: 'LPX_UPSTREAM_PROTOCOL', status, retry: null, backendFault: true } : null);
  }
}

function describeFailure(code: string, b: BackendState, t: { connect: number; header: number; body: number }, err: Error): string {
  switch (code) {
    case 'LPX_UPSTREAM_REFUSED': return `backend ${b.name} (${b.url}) refused the connection`;
    case 'LPX_UPSTREAM_CONNECT_TIMEOUT': return `backend ${b.name} (${b.url}) did not accept a connection within ${t.connect}s`;
    case 'LPX_UPSTREAM_HEADER_TIMEOUT': return `backend ${b.name} (${b.url}) sent no response headers within ${t.header}s`;
    case 'LPX_UPSTREAM_BODY_TIMEOUT': return `backend ${b.name} (${b.url}) stalled in the middle of its response for ${t.body}s`;
    case 'LPX_UPSTREAM_RESET': return `backend ${b.name} (${b.url}) closed the connection before answering`;
    case 'LPX_UPSTREAM_TLS': return `backend ${b.name} (${b.url}) failed the TLS handshake: ${err.message}`;
    default: return `backend ${b.name} (${b.url}) sent an invalid response: ${err.message}`;
  }
}

const P_CONNECT = 0;
const P_HEAD = 1;
const P_BODY = 2;
const P_DONE = 3;

function fault(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** one try of one request at one backend */
export class Attempt implements UpstreamUser, Acquirer, BodySink, Responder {
  pool: OriginPool | null = null;
  private up: UpConn | null = null;
  private phase = P_CONNECT;
  deadline = 0;
  private rbuf: Buffer | null = null;
  private scanned = 0;
  private status = 0;
  private inMode = F_NONE;
  private outMode = F_NONE;
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;
  /** the client's body began to flow to this backend (no retry elsewhere after that) */
  bodyStarted = false;
  /** the whole request reached the backend's socket */
  private reqDone = false;
  private reusable = true;
  private upPaused = false;
  private chunkOk = true;

  constructor(
    private readonly fwd: Forwarder,
    private readonly x: Exchange,
    private readonly conn: Downstream,
    readonly state: BackendState,
    readonly index: number,
    readonly path: string,
    readonly overrides: HeaderOverrides | null,
    readonly failoverKey: number,
  ) {}

  acquired(err: Error | null, up: UpConn | null): void {
    if (this.phase === P_DONE) {
      // the client left while the connection was being made
      if (up !== null) this.pool!.release(up);
      return;
    }
    if (err !== null || up === null) {
      this.fail(err ?? fault('LPX_UPSTREAM_POOL_CLOSED', 'no connection'));
      return;
    }
    this.up = up;
    up.user = this;
    this.phase = P_HEAD;
    const x = this.x;
    up.socket.write(backendRequestHead(x.head, this.path, x.client, x.hostOverride, this.overrides, x.upgrade, x.scheme, x.cfg.settings.forwarded), 'latin1');
    if (x.hasBody && x.upgrade === null) {
      this.bodyStarted = true;
      this.conn.startBody(this);
    } else this.requestSent();
  }

  private requestSent(): void {
    this.reqDone = true;
    if (this.phase === P_HEAD) this.deadline = deadlineIn(this.x.cfg.settings.timeouts.header);
  }

  // ---- the request body, from the client

  bodyData(b: Buffer, start: number, end: number): boolean {
    const up = this.up;
    if (up === null || this.phase === P_DONE) return true;
    return this.x.head.chunked ? writeChunk(up.socket, b, start, end) : up.socket.write(part(b, start, end));
  }

  bodyEnd(): void {
    if (this.phase === P_DONE) return;
    if (this.x.head.chunked && this.up !== null) this.up.socket.write(LAST_CHUNK, 'latin1');
    this.requestSent();
  }

  bodyFailed(err: HttpParseError): void {
    if (this.phase === P_DONE) return;
    this.end(false);
    const x = this.x;
    x.error = 'LPX_CLIENT_BAD_REQUEST';
    x.errorDetail = err.message;
    this.fwd.hooks.outcome(x, this.state, true, null);
    if (x.started) { this.conn.abort(false); return; }
    x.status = 400;
    this.conn.closeAfter = true;
    sendError(this.conn, x, 'LPX_CLIENT_BAD_REQUEST', err.message);
  }

  onUpDrain(): void {
    if (this.phase !== P_DONE && !this.reqDone) this.conn.resumeBody();
  }

  // ---- the response, from the backend

  onUpData(d: Buffer): void {
    const up = this.up;
    this.conn.takeSliced();
    this.data(d);
    // d is the connection's reused read buffer: if a write to the client still holds part of it, the next read needs another
    if (up !== null && this.conn.takeSliced() && this.conn.writing) up.lent = true;
  }

  private data(d: Buffer): void {
    if (this.phase === P_BODY) { this.body(d, 0); return; }
    if (this.phase !== P_HEAD) { this.reusable = false; return; }
    let buf = this.rbuf === null ? d : Buffer.concat([this.rbuf, d]);
    for (;;) {
      let r: ResponseHead;
      let end: number;
      try {
        end = headEnd(buf, 0, this.scanned, MAX_RESPONSE_HEAD);
        if (end < 0) {
          this.rbuf = buf === d ? Buffer.from(d) : buf; // never keep the reused read buffer
          this.scanned = buf.length;
          return;
        }
        r = parseResponseHead(buf, 0, end);
      } catch (e) {
        this.fail(fault('LPX_UPSTREAM_PROTOCOL', (e as Error).message));
        return;
      }
      this.scanned = 0;
      if (r.status >= 200 || r.status === 101) {
        this.rbuf = null;
        this.head(r, buf, end);
        return;
      }
      // 1xx informational (100 Continue, 103 Early Hints): not forwarded
      if (end === buf.length) { this.rbuf = null; return; }
      buf = buf.subarray(end);
    }
  }

  private head(r: ResponseHead, buf: Buffer, at: number): void {
    const x = this.x;
    const conn = this.conn;
    x.upstreamMs = performance.now() - x.dispatchedAt;
    if (r.status === 101) {
      if (x.upgrade === null || !(conn instanceof ClientConn)) { this.fail(fault('LPX_UPSTREAM_PROTOCOL', '101 Switching Protocols to a request that asked for no upgrade')); return; }
      this.phase = P_DONE;
      this.deadline = 0;
      this.state.forwarding--;
      this.fwd.released(x, this.state);
      const up = this.up!;
      this.up = null;
      this.fwd.hooks.tunnel(x, conn, up, r, at < buf.length ? buf.subarray(at) : null);
      return;
    }
    const s = x.cfg.settings;
    this.status = r.status;
    if (x.method === 'HEAD' || r.status === 204 || r.status === 304) this.inMode = F_NONE;
    else if (r.chunked) { this.inMode = F_CHUNKED; this.decoder = new ChunkedDecoder(502); } else if (r.hasTransferEncoding || r.contentLength < 0) this.inMode = F_CLOSE;
    else { this.inMode = F_LENGTH; this.remaining = r.contentLength; }
    if (r.close || this.inMode === F_CLOSE) this.reusable = false;
    this.outMode = conn.framing(x, r, this.inMode);
    if (this.outMode < 0) {
      // the proxy does not undo codings: HTTP/1.0 and HTTP/2 have no Transfer-Encoding to carry them
      this.fail(fault('LPX_UPSTREAM_PROTOCOL', `Transfer-Encoding ${JSON.stringify(r.codings)} cannot be passed on to an HTTP/${x.httpVersion} client`));
      return;
    }
    if (this.inMode === F_CHUNKED && at < buf.length) {
      // a chunk-size line that came with the head is checked before the head goes to the client (an invalid one is 502)
      let e: number;
      try {
        e = this.decoder!.sizeLine(buf, at, buf.length);
      } catch (err) {
        this.fail(fault('LPX_UPSTREAM_PROTOCOL', (err as Error).message));
        return;
      }
      at = e < 0 ? buf.length : e;
    }
    x.started = true;
    x.status = r.status;
    this.phase = P_BODY;
    this.deadline = deadlineIn(s.timeouts.body);
    if (this.inMode === F_NONE) {
      if (this.startOut(r, null, 0, 0) < 0) return;
      if (at < buf.length) this.reusable = false;
      this.complete();
      return;
    }
    if (this.inMode === F_LENGTH) {
      const n = Math.min(this.remaining, buf.length - at);
      const ok = this.startOut(r, buf, at, at + n);
      if (ok < 0) return;
      this.remaining -= n;
      x.bytes += n;
      if (at + n < buf.length) this.reusable = false; // bytes past the body: never reuse this connection
      if (this.remaining === 0) this.complete();
      else if (ok === 0) this.pauseUp();
      return;
    }
    const ok = this.startOut(r, null, 0, 0);
    if (ok < 0) return;
    if (at < buf.length) this.body(buf, at);
    else if (ok === 0) this.pauseUp();
  }

  /** the response head to the client: 1 written, 0 written and the client is full, -1 refused by the client's protocol (then 502) */
  private startOut(r: ResponseHead, b: Buffer | null, start: number, end: number): number {
    try {
      return this.conn.startResponse(this.x, r, this.outMode, b, start, end) ? 1 : 0;
    } catch (e) {
      this.x.started = false;
      this.fail(fault('LPX_UPSTREAM_PROTOCOL', `the response head cannot be passed on: ${(e as Error).message}`));
      return -1;
    }
  }

  private readonly onChunk = (b: Buffer, start: number, end: number): void => {
    this.x.bytes += end - start;
    if (!(this.outMode === F_CHUNKED ? this.conn.writeChunk(b, start, end) : this.conn.write(b, start, end))) this.chunkOk = false;
  };

  private body(b: Buffer, at: number): void {
    const x = this.x;
    let ok = true;
    switch (this.inMode) {
      case F_LENGTH: {
        const n = Math.min(this.remaining, b.length - at);
        ok = this.conn.write(b, at, at + n);
        this.remaining -= n;
        x.bytes += n;
        if (at + n < b.length) this.reusable = false;
        if (this.remaining === 0) { this.complete(); return; }
        break;
      }
      case F_CHUNKED: {
        let end: number;
        this.chunkOk = true;
        try {
          end = this.decoder!.feed(b, at, b.length, this.onChunk);
        } catch (e) {
          this.fail(fault('LPX_UPSTREAM_PROTOCOL', (e as Error).message));
          return;
        }
        if (end >= 0) {
          if (end < b.length) this.reusable = false;
          this.complete();
          return;
        }
        ok = this.chunkOk;
        break;
      }
      default:
        // read until the close: each read is one chunk for a chunked client
        if (at === b.length) break; // an empty chunk would be the last chunk
        x.bytes += b.length - at;
        ok = this.outMode === F_CHUNKED ? this.conn.writeChunk(b, at, b.length) : this.conn.write(b, at, b.length);
    }
    if (!ok) this.pauseUp();
    else if (this.deadline > 0) this.deadline = deadlineIn(x.cfg.settings.timeouts.body);
  }

  /** the client's socket is full: stop reading the backend, and stop its body clock (the wait is the client's) */
  private pauseUp(): void {
    this.upPaused = true;
    this.deadline = 0;
    this.up?.socket.pause();
  }

  clientDrain(): void {
    if (!this.upPaused || this.phase !== P_BODY) return;
    this.upPaused = false;
    this.deadline = deadlineIn(this.x.cfg.settings.timeouts.body);
    this.up?.socket.resume();
  }

  /** the response is complete */
  private complete(): void {
    if (this.outMode === F_CHUNKED) this.conn.endChunked();
    this.end(this.reusable && this.reqDone);
    this.fwd.completed(this.x, this, this.status);
    this.conn.endResponse();
  }

  /** leave the backend connection: back to its pool, or closed */
  private end(reuse: boolean): void {
    this.phase = P_DONE;
    this.deadline = 0;
    this.state.inflight--;
    this.state.forwarding--;
    this.fwd.released(this.x, this.state);
    const up = this.up;
    this.up = null;
    if (up === null) return;
    if (this.upPaused) up.socket.resume();
    if (reuse) this.pool!.release(up);
    else this.pool!.discard(up);
  }

  private fail(err: Error): void {
    if (this.phase === P_DONE) return;
    this.end(false);
    if (this.x.started) this.fwd.broken(this.x, this.conn, this, err);
    else this.fwd.failed(this.x, this.conn, this, err);
  }

  onUpEnd(): void {
    if (this.phase === P_BODY && this.inMode === F_CLOSE) { this.reusable = false; this.complete(); return; }
    if (this.phase === P_DONE) return;
    this.fail(this.phase === P_BODY
      ? fault('ECONNRESET', 'backend closed the connection in the middle of its response')
      : fault('LPX_UPSTREAM_RESET', 'backend closed the connection before answering'));
  }

  onUpClose(err: Error | null): void {
    if (this.phase === P_DONE) return;
    this.fail(err ?? fault('LPX_UPSTREAM_RESET', this.phase === P_BODY ? 'backend closed the connection in the middle of its response' : 'backend closed the connection before answering'));
  }

  onDeadline(): void {
    if (this.phase === P_HEAD) this.fail(fault('LPX_UPSTREAM_HEADER_TIMEOUT', 'no response head in time'));
    else if (this.phase === P_BODY) this.fail(fault('LPX_UPSTREAM_BODY_TIMEOUT', 'the response stalled'));
  }

  clientGone(): void {
    if (this.phase === P_DONE) return;
    if (this.phase === P_CONNECT) { this.phase = P_DONE; this.state.inflight--; this.state.forwarding--; this.fwd.released(this.x, this.state); this.pool?.cancel(this); }
    else this.end(false);
    this.x.error = 'LPX_CLIENT_ABORTED';
    this.fwd.hooks.outcome(this.x, this.state, false, null);
  }
}
