/**
 * One client connection: HTTP/1.1 over a net.Socket, without node:http. It parses each
 * request head (src/http1, strict), hands it to the proxy, streams the request body to
 * whoever takes it (with backpressure: the socket is paused while the taker is full),
 * writes the response the proxy produces, and then reads the next request. Pipelined
 * requests are held, unread, until the response before them is complete, so responses
 * never interleave. Timeouts are deadlines the server's sweeper checks, so a request sets
 * a number instead of arming a timer.
 */
import type { Socket } from 'node:net';
import { headEnd, parseRequestHead, leadingEmptyLines, HttpParseError, type RequestHead, type ResponseHead } from '../http1/parse.js';
import { clientResponseHead, ownResponseHead, F_CHUNKED, F_CLOSE } from './headers.js';
import { ChunkedDecoder, chunkHeader, CHUNK_END, LAST_CHUNK } from '../http1/chunked.js';
import type { Exchange } from './exchange.js';
import type { Settings } from '../config/defaults.js';
import type { Arrival } from '../routing/call.js';
import { arrivalOf } from './listeners.js';

/** takes the request body, piece by piece */
export interface BodySink {
  /** false: full, the client is paused until resumeBody() */
  bodyData(b: Buffer, start: number, end: number): boolean;
  bodyEnd(): void;
  /** the body turned out malformed (a bad chunk) */
  bodyFailed(err: HttpParseError): void;
}

/** the part of the request path that owns the request now (an attempt at a backend, a tunnel, a queue wait) */
export interface Responder {
  /** ms (performance.now) at which onDeadline runs; 0 for none */
  deadline: number;
  onDeadline(): void;
  /** the client's socket closed before the response was complete */
  clientGone(): void;
  /** the client's socket drained: paused response data may flow again */
  clientDrain(): void;
}

/**
 * The client side of one request, as the forwarder and the proxy's own answers use it:
 * an HTTP/1.1 connection (ClientConn, here) or an HTTP/2 stream (H2Stream, h2.ts). Each
 * writes the response in its own protocol; everything before that is shared.
 */
export interface Downstream {
  /** the request in progress (the forwarder checks it is still this one after a wait) */
  x: Exchange | null;
  responder: Responder | null;
  /** HTTP/1.1: close the connection after this response (HTTP/2: no meaning) */
  closeAfter: boolean;
  /** the request body has not been read to its end */
  readonly bodyPending: boolean;
  /** the client left: its connection or stream is closed */
  readonly gone: boolean;
  /** the request body is wanted now */
  startBody(sink: BodySink): void;
  /** the sink has room again */
  resumeBody(): void;
  /**
   * How the response body, read from the backend as `inMode` (F_*), goes to this client
   * (an F_* mode), or -1 when the backend's transfer codings cannot be passed on to it.
   */
  framing(x: Exchange, r: ResponseHead, inMode: number): number;
  /** write the response head of `r` framed as `outMode`, with the first body bytes b[start, end); false when full */
  startResponse(x: Exchange, r: ResponseHead, outMode: number, b: Buffer | null, start: number, end: number): boolean;
  /** body bytes; false when full (the responder waits for clientDrain) */
  write(b: Buffer, start: number, end: number): boolean;
  /** one chunk of a chunked body (HTTP/2: the same as write) */
  writeChunk(b: Buffer, start: number, end: number): boolean;
  /** the last chunk of a chunked body */
  endChunked(): void;
  /** an answer of the proxy's own (an error page, route's direct response), whole; ends the response */
  respondOwn(x: Exchange, status: number, headers: readonly string[], body: Buffer | null): void;
  /** the response is complete */
  endResponse(): void;
  /**
   * The response cannot be completed: cut it off so the client sees it is incomplete.
   * `reset`: its body had no length, so an orderly end would look complete.
   */
  abort(reset: boolean): void;
  /** whether a slice of a caller's buffer was written since the last call */
  takeSliced(): boolean;
  /** the client side still holds bytes written to it (a lent buffer is still in use) */
  readonly writing: boolean;
  /** this is an HTTP/2 stream */
  readonly h2: boolean;
  /** the client's address and port: the peer's, or what its PROXY header said */
  readonly remote: string;
  readonly remotePort: number;
  /** how the request came (scheme, SNI) */
  readonly arrival: Arrival;
  /** answer 100 Continue when the body is first wanted */
  expectContinue: boolean;
  /** the connection's socket (HTTP/2: the session's), for the addresses a PROXY header to a backend names; never written to here */
  readonly socket: Socket;
}

/** the client left before the response to `x` was complete: its responder lets go, and the request is over (499) */
export function clientLeft(x: Exchange, r: Responder | null, owner: { finish(x: Exchange): void }): void {
  x.clientGone = true;
  r?.clientGone();
  owner.finish(x);
}

/** what a connection needs of the server */
export interface ConnOwner {
  readonly settings: Settings;
  readonly closing: boolean;
  request(conn: ClientConn, head: RequestHead): void;
  finish(x: Exchange): void;
  badRequest(conn: ClientConn, err: HttpParseError | Error): void;
  closed(conn: ClientConn): void;
}

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;

/** what the connection's deadline means */
export const D_NONE = 0;
export const D_HEAD = 1;
export const D_IDLE = 2;
export const D_REQUEST = 3;
export const D_LINGER = 4;

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

/** b[start, end), without a new view when that is all of b */
export function part(b: Buffer, start: number, end: number): Buffer {
  return start === 0 && end === b.length ? b : b.subarray(start, end);
}

/** one chunk of chunked framing in one write; false when the socket is full */
export function writeChunk(s: Socket, b: Buffer, start: number, end: number): boolean {
  s.cork();
  s.write(chunkHeader(end - start), 'latin1');
  s.write(part(b, start, end));
  const ok = s.write(CHUNK_END, 'latin1');
  s.uncork();
  return ok;
}

/** pieces up to this size are copied, not lent, when written to a TLS client or an HTTP/2 stream (see ClientConn.out) */
export const TLS_COPY_MAX = 8 * 1024;

/** the moment (performance.now) `seconds` from now, or 0, meaning none, for 0 seconds */
export function deadlineIn(seconds: number): number {
  return seconds > 0 ? performance.now() + seconds * 1000 : 0;
}

/**
 * The connection a socket belongs to. The socket's listeners are functions shared by every
 * connection that find it here, so a new connection makes no closures (six arrow-function
 * fields were 370 bytes of each idle connection: bench/README.md, "what each one keeps").
 */
const CONN = Symbol('luaproxy.conn');
type Owned = Socket & { [CONN]: ClientConn };
function sockData(this: Owned, d: Buffer): void { this[CONN].onData(d); }
function sockEnd(this: Owned): void { this[CONN].onEnd(); }
function sockClose(this: Owned): void { this[CONN].onClose(); }
function sockDrain(this: Owned): void { this[CONN].onDrain(); }
function nextOf(c: ClientConn): void { c.next(); }
function ignore(): void {}

export class ClientConn implements Downstream {
  readonly h2 = false;
  /** bytes read but not consumed: a head in progress, or held (pipelined, or body nobody takes yet) */
  private buf: Buffer | null = null;
  private scanned = 0;
  /** the request in progress, from its head to the end of its response */
  x: Exchange | null = null;
  responder: Responder | null = null;
  private bodyMode = BODY_NONE;
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;
  /** the chunked body's first size line has not been checked yet (see checkSizeLine) */
  private firstSizeLine = false;
  private sink: BodySink | null = null;
  private sinkFull = false;
  /** send 100 Continue when the body is first wanted */
  expectContinue = false;
  /** close the connection after this response */
  closeAfter = false;
  private clientEnded = false;
  private lingering = false;
  private tunnel: Socket | null = null;
  deadline = 0;
  deadlineKind = D_NONE;
  private arrivalOf: Arrival | null = null;
  private sliced = false;

  constructor(
    private readonly owner: ConnOwner,
    readonly socket: Socket,
    /** the client's address: the socket's peer, or what its PROXY header said */
    readonly remote: string = socket.remoteAddress ?? '',
    /** the socket is a TLSSocket */
    readonly tls = false,
    /** the client's port (with a PROXY header, the one it gave) */
    readonly remotePort: number = socket.remotePort ?? 0,
  ) {
    // the first head has a deadline from the moment the connection opens (a client that sends nothing is closed)
    this.setDeadline(D_HEAD, owner.settings.timeouts.client_header);
    (socket as Owned)[CONN] = this;
    socket.on('data', sockData);
    socket.on('end', sockEnd);
    socket.on('error', ignore);
    socket.on('close', sockClose);
    socket.on('drain', sockDrain);
  }

  /** how this connection's requests came (for TLS, known once the handshake is done, before any request) */
  get arrival(): Arrival {
    return (this.arrivalOf ??= arrivalOf(this.socket, this.tls));
  }

  /** @internal the socket's 'data' (through sockData) */
  onData(d: Buffer): void {
    if (this.lingering) return;
    if (this.tunnel !== null) {
      if (!this.tunnel.write(d)) this.socket.pause();
      return;
    }
    if (this.x === null) {
      this.buf = this.buf === null ? d : Buffer.concat([this.buf, d]);
      this.parseNext();
      return;
    }
    if (this.sink !== null && this.bodyMode !== BODY_NONE && this.buf === null) {
      this.pump(d);
      return;
    }
    // pipelined bytes, or a body nobody takes yet: hold them and stop reading
    if (this.firstSizeLine && this.buf === null && this.bodyMode === BODY_CHUNKED) {
      // the body's first size line, while the head waits for a backend: checked before it goes
      if (!this.checkSizeLine(d)) return;
    } else this.buf = this.buf === null ? d : Buffer.concat([this.buf, d]);
    this.socket.pause();
  }

  /** parse the next request head from the held bytes, if there is a whole one */
  private parseNext(): void {
    let buf = this.buf!;
    const skip = leadingEmptyLines(buf, 0);
    if (skip > 0) {
      buf = buf.subarray(skip);
      this.scanned = 0; // offsets into the old buffer no longer apply
      if (buf.length === 0) { this.buf = null; return; }
    }
    const s = this.owner.settings;
    if (this.deadlineKind !== D_HEAD) this.setDeadline(D_HEAD, s.timeouts.client_header);
    let head: RequestHead;
    let end: number;
    try {
      end = headEnd(buf, 0, this.scanned, s.limits.header_size);
      if (end < 0) {
        this.scanned = buf.length;
        this.buf = buf;
        return;
      }
      head = parseRequestHead(buf, 0, end);
    } catch (e) {
      this.buf = null;
      this.owner.badRequest(this, e as Error);
      return;
    }
    this.scanned = 0;
    this.buf = end < buf.length ? buf.subarray(end) : null;
    this.bodyMode = head.chunked ? BODY_CHUNKED : head.contentLength > 0 ? BODY_LENGTH : BODY_NONE;
    this.remaining = head.contentLength;
    this.decoder = head.chunked ? new ChunkedDecoder(400) : null;
    this.firstSizeLine = head.chunked;
    this.sinkFull = false;
    this.expectContinue = false;
    // a chunk-size line that came with the head is checked before the head goes anywhere
    if (this.firstSizeLine && this.buf !== null && !this.checkSizeLine(this.buf)) return;
    this.setDeadline(D_REQUEST, this.bodyMode !== BODY_NONE ? s.timeouts.client_request : 0);
    this.owner.request(this, head);
  }

  /**
   * Check the first chunk-size line of the request body in `b` (the bytes just read, none
   * held before them) and consume it; hold the rest. False after answering 400 for an
   * invalid one: the request then never reaches a backend.
   */
  private checkSizeLine(b: Buffer): boolean {
    let at: number;
    try {
      at = this.decoder!.sizeLine(b, 0, b.length);
    } catch (e) {
      this.buf = null;
      this.bodyMode = BODY_NONE;
      this.decoder = null;
      this.firstSizeLine = false;
      const r = this.responder;
      if (this.x !== null) {
        // the head was handed over, but is still waiting for a backend (or in a queue): call that off
        this.responder = null;
        r?.clientGone();
      }
      this.owner.badRequest(this, e as HttpParseError);
      return false;
    }
    if (at >= 0) this.firstSizeLine = false;
    this.buf = at < 0 || at === b.length ? null : b.subarray(at);
    return true;
  }

  /** a deadline of `kind` `seconds` from now; 0 seconds means none */
  private setDeadline(kind: number, seconds: number): void {
    this.deadline = deadlineIn(seconds);
    this.deadlineKind = this.deadline > 0 ? kind : D_NONE;
  }

  /** the bytes after this head are not a body but the start of a tunnel (an upgrade) */
  noBody(): void {
    this.bodyMode = BODY_NONE;
    this.decoder = null;
    this.firstSizeLine = false;
    this.setDeadline(D_NONE, 0);
  }

  /** the request body is wanted now: held bytes go first, then the socket reads on */
  startBody(sink: BodySink): void {
    this.sink = sink;
    if (this.bodyMode === BODY_NONE) { sink.bodyEnd(); return; }
    if (this.expectContinue) {
      this.expectContinue = false;
      this.socket.write(CONTINUE, 'latin1');
    }
    const b = this.buf;
    this.buf = null;
    if (b !== null) this.pump(b);
    if (this.bodyMode !== BODY_NONE && !this.sinkFull && this.buf === null) this.socket.resume();
  }

  /** the sink has room again */
  resumeBody(): void {
    this.sinkFull = false;
    if (this.bodyMode !== BODY_NONE && this.buf === null && this.tunnel === null) this.socket.resume();
  }

  /** the chunk callback of a chunked request body, made on the first one */
  private onChunk: ((b: Buffer, start: number, end: number) => void) | null = null;

  private pump(b: Buffer): void {
    const sink = this.sink!;
    this.firstSizeLine = false;
    let rest = -1;
    if (this.bodyMode === BODY_LENGTH) {
      const n = Math.min(this.remaining, b.length);
      if (!sink.bodyData(b, 0, n)) this.sinkFull = true;
      this.remaining -= n;
      if (this.remaining === 0) rest = n;
    } else {
      try {
        rest = this.decoder!.feed(b, 0, b.length, this.onChunk ??= (cb: Buffer, start: number, end: number): void => {
          if (!this.sink!.bodyData(cb, start, end)) this.sinkFull = true;
        });
      } catch (e) {
        this.bodyMode = BODY_NONE;
        this.closeAfter = true;
        this.socket.pause();
        sink.bodyFailed(e as HttpParseError);
        return;
      }
    }
    if (rest >= 0) {
      this.bodyMode = BODY_NONE;
      this.decoder = null;
      this.setDeadline(D_NONE, 0);
      if (rest < b.length) {
        this.buf = b.subarray(rest);
        this.socket.pause();
      }
      sink.bodyEnd();
    } else if (this.sinkFull) this.socket.pause();
  }

  /** the request body has not been read to its end */
  get bodyPending(): boolean {
    return this.bodyMode !== BODY_NONE;
  }

  /**
   * The Connection header for the response to `x`: 'close' when the connection ends after
   * it (the client asked, the proxy is shutting down, the request body is not read to its
   * end, or an earlier decision), 'keep-alive' for an HTTP/1.0 client that asked to keep
   * it, else null. Deciding 'close' here makes the connection close after the response.
   */
  responseConnection(x: Exchange): string | null {
    if (this.closeAfter || x.head.close || this.owner.closing || this.clientEnded || this.bodyMode !== BODY_NONE) {
      this.closeAfter = true;
      return 'close';
    }
    return x.head.minor === 0 ? 'keep-alive' : null;
  }

  get gone(): boolean {
    return this.socket.destroyed;
  }

  framing(x: Exchange, r: ResponseHead, inMode: number): number {
    if (inMode !== F_CHUNKED && inMode !== F_CLOSE) return inMode;
    // the proxy does not undo codings, and an HTTP/1.0 client may not be sent Transfer-Encoding (RFC 9112 6.1)
    if (r.codings !== null && x.head.minor === 0) return -1;
    // The proxy frames the body as chunked for an HTTP/1.1 client (re-chunking what
    // arrives until the close, for a body without a length), keeping the backend's other
    // codings. Chunked may be applied only once, so codings that already hold it go
    // through as they are, ended by the close; so does anything for an HTTP/1.0 client.
    if (x.head.minor !== 0 && !r.codingsChunked) return F_CHUNKED;
    this.closeAfter = true;
    x.closeDelimited = true;
    return F_CLOSE;
  }

  startResponse(x: Exchange, r: ResponseHead, outMode: number, b: Buffer | null, start: number, end: number): boolean {
    return this.writeHead(clientResponseHead(r, outMode, this.responseConnection(x)), b, start, end);
  }

  endChunked(): void {
    this.socket.write(LAST_CHUNK, 'latin1');
  }

  respondOwn(x: Exchange, status: number, headers: readonly string[], body: Buffer | null): void {
    const head = ownResponseHead(status, headers, this.responseConnection(x));
    if (body === null || x.method === 'HEAD') this.writeHead(head, null, 0, 0);
    else this.writeHead(head, body, 0, body.length);
    this.endResponse();
  }

  abort(reset: boolean): void {
    const s = this.socket;
    if (reset && !s.destroyed) s.resetAndDestroy();
    else s.destroy();
  }

  get writing(): boolean {
    return this.socket.writableLength > 0;
  }

  /** write a response head, with the first body bytes b[start, end) in the same write; false when the socket is full */
  writeHead(head: string, b: Buffer | null, start: number, end: number): boolean {
    const s = this.socket;
    if (b === null || end <= start) return s.write(head, 'latin1');
    s.cork();
    s.write(head, 'latin1');
    const ok = s.write(this.out(b, start, end));
    s.uncork();
    return ok;
  }

  write(b: Buffer, start: number, end: number): boolean {
    return this.socket.write(this.out(b, start, end));
  }

  /** one chunk of a chunked response */
  writeChunk(b: Buffer, start: number, end: number): boolean {
    const s = this.socket;
    s.cork();
    s.write(chunkHeader(end - start), 'latin1');
    s.write(this.out(b, start, end));
    const ok = s.write(CHUNK_END, 'latin1');
    s.uncork();
    return ok;
  }

  /**
   * What to write of `b`: a slice of it (then `b` is lent to this socket until the write
   * completes: see takeSliced), or, for a small piece over TLS, a copy. A TLS socket
   * completes a write only when the next one is issued, so a slice kept the backend's
   * 64 KiB read buffer lent after every response and a new one was allocated for the
   * next read; the GC paid for those (bench/README.md, profile findings).
   */
  private out(b: Buffer, start: number, end: number): Buffer {
    if (this.tls && end - start <= TLS_COPY_MAX) return Buffer.from(b.subarray(start, end));
    this.sliced = true;
    return part(b, start, end);
  }

  /** whether a slice of a caller's buffer was written since the last call (the caller's buffer may still be held by the socket) */
  takeSliced(): boolean {
    const s = this.sliced;
    this.sliced = false;
    return s;
  }

  /** the response to the current request is complete: log it, then read the next request or close */
  endResponse(): void {
    const x = this.x;
    if (x === null) return;
    this.x = null;
    this.responder = null;
    this.sink = null;
    this.owner.finish(x);
    if (this.closeAfter || this.bodyMode !== BODY_NONE || this.socket.destroyed) {
      this.linger();
      return;
    }
    this.setDeadline(D_IDLE, this.owner.settings.timeouts.client_idle);
    if (this.buf !== null) process.nextTick(nextOf, this);
    else this.socket.resume();
  }

  /** @internal parse held (pipelined) bytes, on the tick after a response ended */
  next(): void {
    if (this.x === null && this.buf !== null && !this.lingering && !this.socket.destroyed) this.parseNext();
    if (this.x === null && !this.lingering) this.socket.resume();
  }

  /** an answer the proxy writes before a request exists (a malformed head, a timeout); the connection closes after it */
  rejectRaw(head: string, body: Buffer): void {
    if (this.socket.destroyed) return;
    this.closeAfter = true;
    this.writeHead(head, body, 0, body.length);
    this.linger();
  }

  /**
   * Close after what was written: send FIN, then drop whatever the client still sends for
   * a short while, so a reset does not destroy the response before the client reads it.
   */
  linger(): void {
    if (this.lingering) return;
    this.lingering = true;
    this.buf = null;
    this.socket.end();
    this.socket.resume();
    this.setDeadline(D_LINGER, Math.min(5, Math.max(1, this.owner.settings.timeouts.client_idle)));
  }

  /** splice this connection to `up`: held bytes first, then everything both ways */
  startTunnel(up: Socket): void {
    this.tunnel = up;
    this.setDeadline(D_NONE, 0);
    const b = this.buf;
    this.buf = null;
    if (b !== null && b.length > 0) up.write(b);
    if (this.clientEnded) up.end();
    this.socket.resume();
  }

  /** @internal the socket's 'end' */
  onEnd(): void {
    this.clientEnded = true;
    if (this.tunnel !== null) { this.tunnel.end(); return; }
    // like node:http: a client that stops sending has left; what it asked for is dropped
    this.socket.destroy();
  }

  /** @internal the socket's 'drain' */
  onDrain(): void {
    this.responder?.clientDrain();
  }

  /** @internal the socket's 'close' */
  onClose(): void {
    this.owner.closed(this);
    const x = this.x;
    if (x !== null) {
      const r = this.responder;
      this.x = null;
      this.responder = null;
      clientLeft(x, r, this.owner);
    }
    if (this.tunnel !== null) this.tunnel.destroy();
  }

  /** the sweeper found the deadline passed */
  expired(): void {
    this.deadline = 0;
    const kind = this.deadlineKind;
    this.deadlineKind = D_NONE;
    if (kind === D_IDLE || kind === D_LINGER) {
      this.socket.destroy();
      return;
    }
    if (kind === D_REQUEST && this.x !== null) {
      // the request was already on its way to a backend: drop that part first
      const r = this.responder;
      this.responder = null;
      this.sink = null;
      this.bodyMode = BODY_NONE;
      r?.clientGone();
      if (this.x.started) { this.socket.destroy(); return; }
    }
    if (kind === D_HEAD || kind === D_REQUEST) {
      this.owner.badRequest(this, new HttpParseError(408, kind === D_HEAD ? 'no complete request head within timeouts.client_header' : 'the request body did not arrive within timeouts.client_request'));
      return;
    }
    this.socket.destroy();
  }

  /** an idle keep-alive connection (for shutdown): no request and no bytes of one */
  get idle(): boolean {
    return this.x === null && this.buf === null && this.tunnel === null;
  }
}
