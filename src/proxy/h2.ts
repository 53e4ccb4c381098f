/**
 * HTTP/2 to clients, on TLS listeners that negotiated `h2` by ALPN. The sessions, frames,
 * HPACK and flow control are node:http2's (nghttp2); this file turns each stream into a
 * request head for the same request path as HTTP/1.1 (decide, balancing, retries, the
 * HTTP/1.1 pools to the backends, error pages, access log, metrics) and writes the
 * response back as HEADERS and DATA frames.
 *
 * - A stream's request becomes the HTTP/1.1 head it stands for and is parsed by the same
 *   strict parser (src/http1), so both protocols accept and refuse the same requests:
 *   :authority is the Host, Cookie fields are joined with "; " (RFC 9113 8.2.3), and a
 *   body without content-length goes to the backend chunked.
 * - Flow control is backpressure: a DATA write that fills the stream's buffer pauses the
 *   backend, as a full socket does on HTTP/1.1; the client's window opening resumes it.
 *   The proxy holds at most a backend read plus the stream's buffer per stream, and
 *   `http2.max_concurrent_streams` streams per session.
 * - Protections (docs/http.md, "HTTP/2"): the session settings bound streams, header
 *   lists and memory; nghttp2 bounds CONTINUATION frames and resets by its own limits; on
 *   top of those a session whose client cancels streams faster than
 *   `http2.max_resets` per 10 s (CVE-2023-44487, rapid reset) is closed with
 *   ENHANCE_YOUR_CALM before its requests reach more backends.
 */
import http2, { type ServerHttp2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { headEnd, parseRequestHead, HttpParseError, K_OTHER, K_DATE, K_HOST, K_EXPECT, K_X_FORWARDED_FOR, K_X_FORWARDED_OTHER, K_CONTENT_LENGTH, type RequestHead, type ResponseHead } from '../http1/parse.js';
import type { Settings } from '../config/defaults.js';
import type { Arrival } from '../routing/call.js';
import type { Exchange } from './exchange.js';
import { F_NONE, F_LENGTH, F_CHUNKED, F_CLOSE } from './headers.js';
import { part, deadlineIn, clientLeft, TLS_COPY_MAX, type Downstream, type BodySink, type Responder } from './client.js';
import { errorInfo, clientCode, type ErrorCode } from '../core/errors.js';
import { errorBody } from './respond.js';

const {
  NGHTTP2_INTERNAL_ERROR, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM,
} = http2.constants;

/** what an HTTP/2 session needs of the server */
export interface H2Owner {
  readonly settings: Settings;
  readonly closing: boolean;
  /** a stream's request head is ready: route and answer it */
  request(conn: Downstream, head: RequestHead): void;
  finish(x: Exchange): void;
  /** a stream's request could not be made into a request (a malformed head): counted and logged */
  badStream(s: H2Stream, err: HttpParseError): void;
  h2Closed(s: H2Session): void;
  /** a session was closed for abuse (rapid reset) */
  h2Abuse(s: H2Session, why: string): void;
}

/** the error a stream is destroyed with when its response cannot be completed (node sends RST_STREAM INTERNAL_ERROR for it) */
const CUT_OFF = new Error('the response was cut off');

/** the window of the rapid-reset count, in ms */
const RESET_WINDOW_MS = 10_000;

/** node:http2 session options from the `http2` settings (and the header limit every protocol shares) */
export function sessionOptions(s: Settings): http2.ServerOptions {
  const h = s.http2;
  return {
    settings: {
      maxConcurrentStreams: h.max_concurrent_streams,
      initialWindowSize: h.initial_window_size,
      maxHeaderListSize: s.limits.header_size,
      enablePush: false,
    },
    maxSessionMemory: h.session_memory,
    // every field counts 32 bytes toward the header list size besides its name and value
    // (RFC 9113 6.5.2), so header_size / 32 fields fill the list however short they are
    maxHeaderListPairs: Math.max(32, Math.ceil(s.limits.header_size / 32)),
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    maxOutstandingPings: 10,
    maxSettings: 32,
  };
}

/** one client connection speaking HTTP/2 */
export class H2Session {
  readonly session: ServerHttp2Session;
  readonly streams = new Set<H2Stream>();
  /** streams the client cancelled in the current window, and when the window began */
  private resets = 0;
  private resetsSince = 0;
  private closedOnce = false;
  /** ms (performance.now) at which an idle session is closed; 0 while streams are open */
  deadline = 0;

  constructor(
    readonly owner: H2Owner,
    readonly socket: Socket,
    readonly remote: string,
    readonly remotePort: number,
    readonly arrival: Arrival,
  ) {
    // A TLSSocket made outside tls.Server keeps secureConnecting set after its handshake
    // (tls.Server clears it before 'secureConnection'), and node:http2 would wait for a
    // 'secureConnect' that a server socket never emits. The handshake is done here.
    (socket as Socket & { secureConnecting?: boolean }).secureConnecting = false;
    this.session = http2.performServerHandshake(socket, sessionOptions(owner.settings));
    this.session.on('stream', this.onStream);
    this.session.on('error', () => {});
    this.session.on('close', this.onClose);
    this.idle();
  }

  private idle(): void {
    this.deadline = deadlineIn(this.owner.settings.timeouts.client_idle);
  }

  private readonly onStream = (stream: ServerHttp2Stream, _headers: IncomingHttpHeaders, flags: number, raw: string[]): void => {
    const s = new H2Stream(this, stream);
    this.streams.add(s);
    this.deadline = 0;
    if (this.owner.closing) {
      // shutting down: a stream that raced the GOAWAY is refused (the client may retry it elsewhere)
      s.close(NGHTTP2_REFUSED_STREAM);
      return;
    }
    let head: RequestHead;
    try {
      head = requestHead(raw, (flags & NGHTTP2_FLAG_END_STREAM) === 0, this.owner.settings.limits.header_size);
    } catch (e) {
      const err = e instanceof HttpParseError ? e : new HttpParseError(400, String((e as Error).message));
      this.owner.badStream(s, err);
      s.rejectRaw(clientCode(err.status), err.message);
      return;
    }
    s.bodyOpen = head.contentLength > 0 || head.chunked;
    if (s.bodyOpen) s.deadline = deadlineIn(this.owner.settings.timeouts.client_request);
    this.owner.request(s, head);
  };

  /** a stream is over (its response ended, or it was reset) */
  streamClosed(s: H2Stream, cancelledByClient: boolean): void {
    this.streams.delete(s);
    if (this.streams.size === 0) this.idle();
    if (!cancelledByClient) return;
    const now = performance.now();
    if (now - this.resetsSince > RESET_WINDOW_MS) { this.resetsSince = now; this.resets = 0; }
    if (++this.resets > this.owner.settings.http2.max_resets && !this.session.destroyed) {
      this.owner.h2Abuse(this, `the client cancelled more than ${this.owner.settings.http2.max_resets} streams within 10 s (rapid reset)`);
      // destroy with a code sends a last GOAWAY carrying it, then closes
      this.session.destroy(new Error('rapid reset'), NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }

  /** the sweeper's look: idle session, request bodies too slow, backend deadlines */
  sweep(now: number): void {
    if (this.deadline > 0 && now >= this.deadline) { this.close(); return; }
    for (const s of this.streams) {
      if (s.deadline > 0 && now >= s.deadline) s.expired();
      const r = s.responder;
      if (r !== null && r.deadline > 0 && now >= r.deadline) r.onDeadline();
    }
  }

  /** close gracefully: GOAWAY, let open streams finish */
  close(): void {
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }

  destroy(): void {
    this.session.destroy();
  }

  /** no stream is open */
  get idleNow(): boolean {
    return this.streams.size === 0;
  }

  private readonly onClose = (): void => {
    if (this.closedOnce) return;
    this.closedOnce = true;
    for (const s of [...this.streams]) s.sessionGone();
    this.owner.h2Closed(this);
  };
}

/**
 * The HTTP/1.1 head a stream's header list stands for, parsed by the strict parser: the
 * same checks, header kinds and framing as a request that came over HTTP/1.1.
 */
export function requestHead(raw: readonly string[], bodyFollows: boolean, maxSize: number): RequestHead {
  let method = '';
  let path: string | null = null;
  let authority: string | null = null;
  let host: string | null = null;
  let hasLength = false;
  let cookie: string | null = null;
  let fields = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name.charCodeAt(0) === 58 /* ":" */) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      // :scheme is what the client thinks; the connection says how it came (req.scheme)
      continue;
    }
    if (name === 'cookie') { cookie = cookie === null ? value : `${cookie}; ${value}`; continue; }
    if (name === 'host') {
      if (host !== null) throw new HttpParseError(400, 'more than one Host header');
      host = value;
      continue;
    }
    if (name === 'content-length') hasLength = true;
    fields += `${name}: ${value}\r\n`;
  }
  if (method === 'CONNECT') path = authority ?? host ?? '';
  if (path === null || path === '') throw new HttpParseError(400, 'the :path pseudo-header is missing');
  if (authority !== null && host !== null && authority !== host) throw new HttpParseError(400, ':authority and Host differ');
  const h = authority ?? host;
  let text = `${method} ${path} HTTP/1.1\r\n`;
  if (h !== null) text += `host: ${h}\r\n`;
  text += fields;
  if (cookie !== null) text += `cookie: ${cookie}\r\n`;
  // a body of no declared length goes to the backend chunked (HTTP/2 frames carry its end)
  if (bodyFollows && !hasLength) text += 'transfer-encoding: chunked\r\n';
  text += '\r\n';
  const buf = Buffer.from(text, 'latin1');
  const end = headEnd(buf, 0, 0, maxSize);
  if (end < 0) throw new HttpParseError(400, 'malformed header list');
  const head = parseRequestHead(buf, 0, end) as RequestHead & { httpVersion?: string };
  head.httpVersion = '2';
  // a request that says it has a body but ended its stream with the headers: no body
  if (!bodyFollows) { head.chunked = false; if (head.contentLength > 0) throw new HttpParseError(400, 'content-length without a body'); }
  return head;
}

/**
 * The response headers a stream carries, by the parser's kind: the connection-specific
 * ones HTTP/2 forbids (RFC 9113 8.2.2: Connection, Keep-Alive, Proxy-Connection,
 * Transfer-Encoding, Upgrade, TE, the header policy's hop-by-hop list) have kinds of
 * their own, and everything of those kinds is dropped.
 */
function keepKind(kind: number): boolean {
  return kind === K_OTHER || kind === K_DATE || kind === K_HOST || kind === K_EXPECT || kind === K_X_FORWARDED_FOR || kind === K_X_FORWARDED_OTHER;
}

function addHeader(out: Record<string, string | string[]>, lower: string, value: string): void {
  const prev = out[lower];
  if (prev === undefined) out[lower] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[lower] = [prev, value];
}

/**
 * stream.respond, for headers that came from a backend or a script: node:http2 refuses a
 * single-value header (content-type, location, etag, ...) given twice, where HTTP/1.1
 * passes both on. Then the first of each repeated header is kept, except set-cookie,
 * which may repeat (RFC 9110 5.3). Throws when the head still cannot be sent.
 */
function respond(stream: ServerHttp2Stream, out: Record<string, string | string[]>, endStream: boolean): void {
  try {
    stream.respond(out, { endStream });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_HTTP2_HEADER_SINGLE_VALUE') throw e;
    for (const k of Object.keys(out)) {
      const v = out[k];
      if (Array.isArray(v) && k !== 'set-cookie') out[k] = v[0];
    }
    stream.respond(out, { endStream });
  }
}

/**
 * The H2Stream a node stream belongs to. The stream's listeners are functions shared by
 * every stream that find it here, so a request makes no closures for them (as ClientConn
 * does for its socket).
 */
const STREAM = Symbol('luaproxy.h2stream');
type OwnedStream = ServerHttp2Stream & { [STREAM]: H2Stream };
function streamData(this: OwnedStream, d: Buffer): void { this[STREAM].onData(d); }
function streamEnd(this: OwnedStream): void { this[STREAM].onEnd(); }
function streamClose(this: OwnedStream): void { this[STREAM].onClose(); }
function streamDrain(this: OwnedStream): void { this[STREAM].onDrain(); }
function ignore(): void {}

/** one request stream of an HTTP/2 session */
export class H2Stream implements Downstream {
  readonly h2 = true;
  x: Exchange | null = null;
  responder: Responder | null = null;
  closeAfter = false;
  expectContinue = false;
  /** the request body has not ended */
  bodyOpen = false;
  /** ms at which the request body must have arrived (timeouts.client_request), or 0 */
  deadline = 0;
  private sink: BodySink | null = null;
  private sliced = false;
  private ended = false;
  private closed = false;
  /** the proxy reset this stream itself (so its close is not the client cancelling) */
  private resetHere = false;

  constructor(
    private readonly sess: H2Session,
    readonly stream: ServerHttp2Stream,
  ) {
    (stream as OwnedStream)[STREAM] = this;
    stream.on('error', ignore);
    stream.on('close', streamClose);
    stream.on('drain', streamDrain);
  }

  get socket(): Socket {
    return this.sess.socket;
  }

  get remote(): string {
    return this.sess.remote;
  }

  get remotePort(): number {
    return this.sess.remotePort;
  }

  get arrival(): Arrival {
    return this.sess.arrival;
  }

  get bodyPending(): boolean {
    return this.bodyOpen;
  }

  get gone(): boolean {
    return this.closed || this.stream.destroyed;
  }

  startBody(sink: BodySink): void {
    this.sink = sink;
    if (!this.bodyOpen) { sink.bodyEnd(); return; }
    if (this.expectContinue) {
      this.expectContinue = false;
      this.stream.additionalHeaders({ ':status': 100 });
    }
    this.stream.on('data', streamData);
    this.stream.on('end', streamEnd);
  }

  /** @internal the stream's 'data' (a request body) */
  onData(d: Buffer): void {
    if (this.sink !== null && !this.sink.bodyData(d, 0, d.length)) this.stream.pause();
  }

  /** @internal the stream's 'end' */
  onEnd(): void {
    this.bodyOpen = false;
    this.deadline = 0;
    this.sink?.bodyEnd();
  }

  resumeBody(): void {
    if (this.bodyOpen) this.stream.resume();
  }

  framing(_x: Exchange, r: ResponseHead, inMode: number): number {
    if (inMode !== F_CHUNKED && inMode !== F_CLOSE) return inMode;
    // HTTP/2 has no transfer codings to carry the backend's; the end of the stream ends the body
    return r.codings !== null ? -1 : F_CLOSE;
  }

  startResponse(_x: Exchange, r: ResponseHead, outMode: number, b: Buffer | null, start: number, end: number): boolean {
    const out: Record<string, string | string[]> = { ':status': String(r.status) };
    const headers = r.headers;
    const kinds = r.kinds;
    const listed = r.listed;
    for (let i = 0, k = 0; i < headers.length; i += 2, k++) {
      const kind = kinds[k];
      if (!keepKind(kind) && !(kind === K_CONTENT_LENGTH && outMode === F_NONE)) continue;
      const lower = headers[i].toLowerCase();
      if (listed !== null && listed.includes(lower)) continue;
      addHeader(out, lower, headers[i + 1]);
    }
    if (outMode === F_LENGTH) out['content-length'] = String(r.contentLength);
    // throws for a head node:http2 will not send: nothing went out, the forwarder answers 502
    respond(this.stream, out, outMode === F_NONE);
    if (outMode === F_NONE) return true;
    if (b === null || end <= start) return true;
    return this.write(b, start, end);
  }

  write(b: Buffer, start: number, end: number): boolean {
    // a stream holds what it is given until nghttp2 has sent it, so a slice would keep the
    // backend's 64 KiB read buffer lent after every response: small pieces are copied, as
    // ClientConn.out does over TLS (test/h2-small-response-keeps-read-buffer.test.ts)
    if (end - start <= TLS_COPY_MAX) return this.stream.write(Buffer.from(b.subarray(start, end)));
    this.sliced = true;
    return this.stream.write(part(b, start, end));
  }

  writeChunk(b: Buffer, start: number, end: number): boolean {
    return this.write(b, start, end);
  }

  endChunked(): void {}

  respondOwn(x: Exchange, status: number, headers: readonly string[], body: Buffer | null): void {
    if (!this.gone) {
      const out: Record<string, string | string[]> = { ':status': String(status) };
      for (let i = 0; i < headers.length; i += 2) addHeader(out, headers[i].toLowerCase(), headers[i + 1]);
      const noBody = body === null || x.method === 'HEAD';
      try {
        respond(this.stream, out, noBody);
        if (!noBody) this.stream.end(body);
      } catch {
        // a direct response whose headers HTTP/2 cannot carry: the stream is reset, nothing else is touched
        if (x.error === null) { x.error = 'LPX_ROUTE_RETURN'; x.errorDetail = 'the response headers cannot be sent over HTTP/2'; }
        this.close(NGHTTP2_INTERNAL_ERROR);
      }
      this.ended = true;
    }
    this.endResponse();
  }

  /** answer a stream that never became a request (a malformed header list) */
  rejectRaw(code: ErrorCode, message?: string): void {
    const { status, title } = errorInfo(code);
    const body = errorBody(status, message ?? title);
    if (!this.gone) {
      this.stream.respond({ ':status': String(status), 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), 'x-luaproxy-error': code });
      this.stream.end(body);
    }
  }

  endResponse(): void {
    const x = this.x;
    if (x === null) return;
    if (!this.ended && !this.gone) this.stream.end();
    this.ended = true;
    this.x = null;
    this.responder = null;
    this.sink = null;
    this.deadline = 0;
    this.sess.owner.finish(x);
    // the response is complete; a request body still coming is not read (the stream closes with NO_ERROR)
    if (this.bodyOpen) this.close(NGHTTP2_NO_ERROR);
  }

  abort(_reset: boolean): void {
    this.close(NGHTTP2_INTERNAL_ERROR);
  }

  /** reset the stream from the proxy's side */
  close(code: number): void {
    if (this.gone) return;
    this.resetHere = true;
    // stream.close() ends the writable side first, and that sends END_STREAM: a body cut off
    // would look complete. destroy() sends RST_STREAM INTERNAL_ERROR and nothing before it.
    if (code === NGHTTP2_INTERNAL_ERROR) this.stream.destroy(CUT_OFF);
    else this.stream.close(code);
  }

  takeSliced(): boolean {
    const s = this.sliced;
    this.sliced = false;
    return s;
  }

  get writing(): boolean {
    return this.stream.writableLength > 0;
  }

  /** @internal the stream's 'drain' */
  onDrain(): void {
    this.responder?.clientDrain();
  }

  /** the request body did not arrive within timeouts.client_request */
  expired(): void {
    this.deadline = 0;
    const x = this.x;
    if (x === null) return;
    const r = this.responder;
    this.responder = null;
    this.sink = null;
    this.bodyOpen = false;
    r?.clientGone();
    if (x.started) { this.abort(false); return; }
    x.error = 'LPX_CLIENT_TIMEOUT';
    x.status = errorInfo('LPX_CLIENT_TIMEOUT').status;
    x.started = true;
    const body = errorBody(x.status, 'the request body did not arrive within timeouts.client_request');
    this.respondOwn(x, x.status, ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length), 'x-luaproxy-error', 'LPX_CLIENT_TIMEOUT'], body);
  }

  /** the session went away under this stream */
  sessionGone(): void {
    this.onClose();
  }

  /** @internal the stream's 'close' */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const x = this.x;
    // the client cancelled a stream before its response was complete (RST_STREAM from its side)
    this.sess.streamClosed(this, x !== null && !this.resetHere);
    if (x !== null) {
      const r = this.responder;
      this.x = null;
      this.responder = null;
      clientLeft(x, r, this.sess.owner);
    }
  }
}

