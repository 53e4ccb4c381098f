/**
 * Forwards one request to a backend and streams the response back, with backpressure
 * both ways: the client's request stream is undici's request body (undici reads it only
 * as fast as the backend takes it), and when the client's socket buffer is full the
 * backend's response is paused until it drains. Nothing is buffered whole.
 *
 * A failure before the response started gets an error status (and maybe a retry); a
 * failure after it started closes the client connection, so a truncated body can never
 * look complete.
 */
import type { Dispatcher } from 'undici';
import type { Logger } from '../core/logger.js';
import { upstreamResetNow, type Upstreams } from './upstreams.js';
import { Exchange } from './exchange.js';
import { upstreamRequestHeaders, downstreamResponseHeaders } from './headers.js';
import { classify, isIdempotent, type Failure } from './classify.js';
import { sendError } from './respond.js';
import type { BackendState } from '../balancer/backend.js';
import { PICK_HASH } from '../balancer/backend-set.js';
import { murmur3 } from '../balancer/hash.js';
import { Limiter, concurrencyLimit } from './limit.js';

export interface ForwardHooks {
  /** a backend answered or failed: feeds passive health */
  outcome(x: Exchange, backend: BackendState, ok: boolean, failure: Failure | null): void;
}

/** failover along the Host's hash order (the script did not return a proxy.hash pick) */
const HOST_KEY = -2;

export class Forwarder {
  readonly limiter = new Limiter();

  constructor(
    private readonly upstreams: Upstreams,
    private readonly log: Logger,
    private readonly hooks: ForwardHooks,
  ) {}

  /**
   * Send `x` to backend `index`, or queue it when the backend is at its concurrency
   * limit. `failoverKey` is the key hash whose candidate order a connect failure follows:
   * -1 on the first attempt (take it from this route() call's proxy.hash pick, if the
   * script returned that pick), HOST_KEY to use the Host's (hashed only on failure).
   */
  forward(x: Exchange, index: number, path: string, overrides: ReadonlyArray<readonly [string, string | null]> | null, failoverKey = -1): void {
    const cfg = x.cfg;
    const state = cfg.backendSet.list[index];
    x.backend = state;
    x.tried.push(index);
    if (failoverKey < 0) {
      const set = cfg.backendSet;
      failoverKey = set.pickKind === PICK_HASH && set.pickIndex === index ? set.pickKey : HOST_KEY;
    }
    const limits = cfg.settings.limits;
    const limit = concurrencyLimit(limits);
    if (limit > 0 && (state.forwarding >= limit || state.queued > 0)) {
      this.queue(x, state, index, path, overrides, failoverKey);
      return;
    }
    this.dispatch(x, state, index, path, overrides, failoverKey);
  }

  private queue(x: Exchange, state: BackendState, index: number, path: string, overrides: ReadonlyArray<readonly [string, string | null]> | null, failoverKey: number): void {
    const res = x.res!;
    const limits = x.cfg.settings.limits;
    const onClose = () => { x.clientGone = true; cancel?.(); };
    const cancel = this.limiter.wait(state, limits, {
      run: () => {
        res.removeListener('close', onClose);
        if (x.clientGone || res.destroyed) return;
        this.dispatch(x, state, index, path, overrides, failoverKey);
      },
      refuse: (timedOut) => {
        res.removeListener('close', onClose);
        const code = timedOut ? 'LPX_UPSTREAM_QUEUE_TIMEOUT' : 'LPX_UPSTREAM_OVERLOADED';
        x.error = code;
        x.status = 503;
        sendError(res, 503, code, timedOut
          ? `backend ${state.name} is at its limit of ${concurrencyLimit(limits)} requests and this one waited ${limits.queue_timeout}s in its queue`
          : `backend ${state.name} is at its limit of ${concurrencyLimit(limits)} requests and its queue of ${limits.queue} is full`, 1);
      },
    });
    if (cancel) res.once('close', onClose);
  }

  private dispatch(x: Exchange, state: BackendState, index: number, path: string, overrides: ReadonlyArray<readonly [string, string | null]> | null, failoverKey: number): void {
    const cfg = x.cfg;
    const spec = cfg.backends[index];
    const req = x.req;
    const s = cfg.settings;
    const headers = upstreamRequestHeaders(
      req.rawHeaders,
      req.headers.connection as string | undefined,
      { clientIp: x.client, proto: 'http' },
      overrides,
    );
    const handler = new ForwardHandler(this, x, state, index, path, overrides, failoverKey);
    state.inflight++;
    state.forwarding++;
    state.requests++;
    x.dispatchedAt = performance.now();
    this.upstreams.get(spec.origin, s).dispatch({
      path,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: x.hasBody ? req : null,
      headersTimeout: s.timeouts.header * 1000,
      bodyTimeout: s.timeouts.body * 1000,
      idempotent: isIdempotent(req.method),
    }, handler);
  }

  /** the attempt failed before any response byte went to the client */
  failed(x: Exchange, h: ForwardHandler, err: Error): void {
    const failure = classify(err);
    const res = x.res!;
    this.hooks.outcome(x, h.state, false, failure.backendFault ? failure : null);
    if (x.clientGone || res.destroyed) {
      x.error = 'LPX_CLIENT_ABORTED';
      return;
    }
    const cfg = x.cfg;
    const bodyUntouched = !x.hasBody || !x.req.readableDidRead;
    if (failure.retry === 'connect' && x.retries < cfg.settings.retries.connect && bodyUntouched) {
      const next = this.nextCandidate(x, h.failoverKey);
      if (next >= 0) {
        x.retries++;
        h.state.retries++;
        this.log.warn({ host: x.host, path: x.path, backend: h.state.name, next: cfg.backends[next].name, code: failure.code, err: err.message }, 'backend connect failed; retrying on the next backend');
        this.forward(x, next, h.path, h.overrides, h.failoverKey);
        return;
      }
    }
    if (failure.retry === 'reused' && cfg.settings.retries.reused && !x.reusedRetried && !x.hasBody && isIdempotent(x.req.method)) {
      x.reusedRetried = true;
      x.retries++;
      h.state.retries++;
      this.forward(x, h.index, h.path, h.overrides, h.failoverKey);
      return;
    }
    x.errorDetail = err.message;
    let code = failure.code;
    let status = failure.status;
    let what = describeFailure(failure.code, h.state, cfg.settings.timeouts);
    if (failure.retry === 'connect' && (cfg.backendSet.panic || this.nextCandidate(x, h.failoverKey) < 0)) {
      // no backend is left to try: all are down, drained or ejected (this was a try in
      // panic mode), or every available one refused this request
      code = 'LPX_UPSTREAM_UNAVAILABLE';
      status = 503;
      what = `no backend is available (all are down, drained, ejected, or refused this request); the last try: ${what}`;
    }
    x.error = code;
    x.status = status;
    sendError(res, status, code, what);
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
  broken(x: Exchange, h: ForwardHandler, err: Error): void {
    const failure = classify(err);
    this.hooks.outcome(x, h.state, false, failure.backendFault ? failure : null);
    x.error = failure.code;
    x.errorDetail = err.message;
    // With a Content-Length or chunked framing, closing the connection early shows the
    // truncation and lets the client keep what arrived. A close-delimited body would look
    // complete after a FIN, so that client gets a reset instead.
    const sock = x.res!.socket;
    if (x.closeDelimited && sock && !sock.destroyed) sock.resetAndDestroy();
    else x.res!.destroy();
  }

  completed(x: Exchange, h: ForwardHandler, status: number): void {
    this.hooks.outcome(x, h.state, status < 500, status >= 500 ? { code: 'LPX_UPSTREAM_PROTOCOL', status, retry: null, backendFault: true } : null);
  }
}

function describeFailure(code: string, b: BackendState, t: { connect: number; header: number; body: number }): string {
  switch (code) {
    case 'LPX_UPSTREAM_REFUSED': return `backend ${b.name} (${b.url}) refused the connection`;
    case 'LPX_UPSTREAM_CONNECT_TIMEOUT': return `backend ${b.name} (${b.url}) did not accept a connection within ${t.connect}s`;
    case 'LPX_UPSTREAM_HEADER_TIMEOUT': return `backend ${b.name} (${b.url}) sent no response headers within ${t.header}s`;
    case 'LPX_UPSTREAM_BODY_TIMEOUT': return `backend ${b.name} (${b.url}) stalled in the middle of its response for ${t.body}s`;
    case 'LPX_UPSTREAM_RESET': return `backend ${b.name} (${b.url}) closed the connection before answering`;
    case 'LPX_CLIENT_BAD_REQUEST': return 'the request body did not match its Content-Length';
    default: return `backend ${b.name} (${b.url}) sent an invalid response`;
  }
}

/** undici dispatch handler for one attempt */
export class ForwardHandler implements Dispatcher.DispatchHandler {
  private abortFn: ((err?: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private done = false;
  private status = 0;

  constructor(
    private readonly fwd: Forwarder,
    private readonly x: Exchange,
    readonly state: BackendState,
    readonly index: number,
    readonly path: string,
    readonly overrides: ReadonlyArray<readonly [string, string | null]> | null,
    readonly failoverKey: number,
  ) {
    const res = x.res!;
    // the client went away: stop the backend side too (no leaked upstream socket)
    res.once('close', () => {
      if (!res.writableFinished) {
        x.clientGone = true;
        this.abortFn?.(new Error('client closed the connection'));
      }
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.x.clientGone) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx informational: not forwarded
    const x = this.x;
    const res = x.res!;
    this.resumeFn = resume;
    this.status = statusCode;
    x.upstreamMs = performance.now() - x.dispatchedAt;
    const { headers, contentLength } = downstreamResponseHeaders(rawHeaders);
    try {
      res.writeHead(statusCode, statusText, headers);
      // the body's end is marked only by the connection closing (an HTTP/1.0 client, no length)
      x.closeDelimited = contentLength < 0 && !res.chunkedEncoding && statusCode !== 204 && statusCode !== 304 && x.req.method !== 'HEAD';
    } catch (e) {
      // a header value Node refuses to send (invalid characters): the backend's fault
      this.abortFn?.(Object.assign(new Error(`invalid response header from backend: ${(e as Error).message}`), { code: 'HPE_INVALID_HEADER_TOKEN' }));
      return false;
    }
    x.started = true;
    x.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    const res = this.x.res!;
    this.x.bytes += chunk.length;
    const ok = res.write(chunk);
    if (!ok && this.resumeFn) res.once('drain', this.resumeFn);
    return ok;
  }

  onComplete(): void {
    if (this.done) return;
    if (upstreamResetNow()) {
      // a reset that undici took for the end of a body without a length: truncated
      this.onError(Object.assign(new Error('backend reset the connection in the middle of a response without a length'), { code: 'ECONNRESET' }));
      return;
    }
    this.done = true;
    this.state.inflight--;
    this.state.forwarding--;
    this.fwd.released(this.x, this.state);
    this.x.res!.end();
    this.fwd.completed(this.x, this, this.status);
  }

  onError(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.state.inflight--;
    this.state.forwarding--;
    this.fwd.released(this.x, this.state);
    if (this.x.started) this.fwd.broken(this.x, this, err);
    else this.fwd.failed(this.x, this, err);
  }
}
