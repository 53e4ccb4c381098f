/**
 * A strict HTTP/1.1 message-head parser (RFC 9112) for both legs of the proxy: request
 * heads from clients and response heads from backends. It takes bytes, finds the end of
 * the head, and either returns the parsed head or throws an HttpParseError with the status
 * to answer. Anything ambiguous is refused, never guessed: bare CR or LF, obs-fold,
 * whitespace before a colon, control bytes, two Content-Lengths, Content-Length together
 * with Transfer-Encoding, an unknown transfer coding, more than one Host.
 *
 * One latin1 conversion per head; names and values are slices of that string. Each header
 * also gets a small `kind` code so the proxy never lower-cases a name on the request path;
 * which names are hop-by-hop comes from the header policy (header-policy.ts).
 */
import { HOP_BY_HOP } from './header-policy.js';

export class HttpParseError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

// header kinds: what the proxy needs to know of a name without comparing strings again
export const K_OTHER = 0;
export const K_HOST = 1;
export const K_CONTENT_LENGTH = 2;
export const K_TRANSFER_ENCODING = 3;
export const K_CONNECTION = 4;
export const K_UPGRADE = 5;
export const K_EXPECT = 6;
/** the hop-by-hop headers of the header policy (header-policy.ts) without a code of their own */
export const K_HOP = 7;
export const K_X_FORWARDED_FOR = 8;
/** x-forwarded-proto, x-forwarded-host: the proxy sets its own */
export const K_X_FORWARDED_OTHER = 9;
export const K_DATE = 10;

// character classes (RFC 9110 5.6.2 tchar; field-value: HTAB, SP, VCHAR, obs-text)
const TCHAR = new Uint8Array(256);
const VALUE = new Uint8Array(256);
const TARGET = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  TCHAR[c] = alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) ? 1 : 0;
  VALUE[c] = c === 9 || (c >= 32 && c !== 127) ? 1 : 0;
  // visible ASCII only: raw bytes 0x80-0xFF must be percent-encoded (RFC 9112 3.2, RFC 3986)
  TARGET[c] = c > 32 && c < 127 ? 1 : 0;
}

/** Buffer's own latin1 decoder (what toString('latin1') calls, without its argument checks) */
type LatinBuffer = Buffer & { latin1Slice(start: number, end: number): string };

const CR = 13;
const LF = 10;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/** case-insensitive compare of s[start, start+lit.length) with a lower-case literal of letters, digits and '-' */
function eqLower(s: string, start: number, lit: string): boolean {
  for (let i = 0; i < lit.length; i++) if ((s.charCodeAt(start + i) | 0x20) !== lit.charCodeAt(i)) return false;
  return true;
}

// Hand-unrolled by length, so the request path never lower-cases a name. The hop-by-hop
// names must be the header policy's (header-policy.ts): checked below when this module
// loads, and both ways by test/header-policy-one-list.test.ts.
function kindOf(s: string, start: number, len: number): number {
  switch (len) {
    case 2: return eqLower(s, start, 'te') ? K_HOP : K_OTHER;
    case 4:
      if (eqLower(s, start, 'host')) return K_HOST;
      return eqLower(s, start, 'date') ? K_DATE : K_OTHER;
    case 6: return eqLower(s, start, 'expect') ? K_EXPECT : K_OTHER;
    case 7:
      if (eqLower(s, start, 'upgrade')) return K_UPGRADE;
      return eqLower(s, start, 'trailer') ? K_HOP : K_OTHER;
    case 10:
      if (eqLower(s, start, 'connection')) return K_CONNECTION;
      return eqLower(s, start, 'keep-alive') ? K_HOP : K_OTHER;
    case 14:
      if (eqLower(s, start, 'content-length')) return K_CONTENT_LENGTH;
      return eqLower(s, start, 'http2-settings') ? K_HOP : K_OTHER;
    case 15: return eqLower(s, start, 'x-forwarded-for') ? K_X_FORWARDED_FOR : K_OTHER;
    case 16:
      if (eqLower(s, start, 'x-forwarded-host')) return K_X_FORWARDED_OTHER;
      return eqLower(s, start, 'proxy-connection') ? K_HOP : K_OTHER;
    case 17:
      if (eqLower(s, start, 'transfer-encoding')) return K_TRANSFER_ENCODING;
      return eqLower(s, start, 'x-forwarded-proto') ? K_X_FORWARDED_OTHER : K_OTHER;
    case 18: return eqLower(s, start, 'proxy-authenticate') ? K_HOP : K_OTHER;
    case 19: return eqLower(s, start, 'proxy-authorization') ? K_HOP : K_OTHER;
    default: return K_OTHER;
  }
}

const HOP_KINDS = [K_HOP, K_CONNECTION, K_UPGRADE, K_TRANSFER_ENCODING];
for (const name of HOP_BY_HOP) {
  if (!HOP_KINDS.includes(kindOf(name.toUpperCase(), 0, name.length))) throw new Error(`parse.ts kindOf does not know the hop-by-hop header ${name} of the header policy`);
}

/** what both kinds of head share */
export interface Head {
  /** [name, value, name, value, ...]: names as sent, values without surrounding whitespace */
  headers: string[];
  /** one K_* code per header (headers.length / 2 entries) */
  kinds: number[];
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 */
  minor: number;
  /** -1 when there is none */
  contentLength: number;
  chunked: boolean;
  /** a Transfer-Encoding header was present */
  hasTransferEncoding: boolean;
  /** the Connection header values joined with ", ", or null */
  connection: string | null;
  /** Connection carries the token "close" (or HTTP/1.0 without "keep-alive") */
  close: boolean;
  closeToken: boolean;
  keepAliveToken: boolean;
  /** Connection carries "upgrade" */
  connectionUpgrade: boolean;
  upgrade: string | null;
  /** lower-cased names listed in Connection beyond close/keep-alive/upgrade/host, or null */
  listed: string[] | null;
  /** bytes of the head, up to and including its final CRLF CRLF */
  size: number;
}

export interface RequestHead extends Head {
  method: string;
  target: string;
  host: string | undefined;
  expect: string | null;
}

export interface ResponseHead extends Head {
  status: number;
  reason: string;
  hasDate: boolean;
  /**
   * The transfer codings other than a final chunked, as a list to pass on ("gzip",
   * "chunked, gzip"), or null for none. When `chunked` is false and this is not null, the
   * body is read until the close (RFC 9112 6.3).
   */
  codings: string | null;
  /** `codings` already holds chunked (so it may not be applied again: RFC 9112 7) */
  codingsChunked: boolean;
}

/**
 * Where the head that starts at `from` ends (the index just past CRLF CRLF), or -1 when
 * more bytes are needed. Throws on a line ending that is not CRLF, and 431 past `max` bytes.
 * `scanned` is how far a previous call already looked, so a slow client costs linear time.
 */
export function headEnd(buf: Buffer, from: number, scanned: number, max: number): number {
  const start = Math.max(from, scanned - 3);
  const end = buf.indexOf(CRLFCRLF, start);
  const limit = end < 0 ? buf.length : end;
  // a bare LF anywhere before the end (a client using LF line endings) is refused at once
  for (let i = buf.indexOf(LF, Math.max(from, scanned)); i >= 0 && i < limit; i = buf.indexOf(LF, i + 1)) {
    if (i === from || buf[i - 1] !== CR) throw new HttpParseError(400, 'a line of the head ends with LF alone (CRLF is required)');
  }
  if (end < 0) {
    if (buf.length - from > max) throw new HttpParseError(431, `the head is larger than ${max} bytes`);
    return -1;
  }
  if (end + 4 - from > max) throw new HttpParseError(431, `the head is larger than ${max} bytes`);
  return end + 4;
}

/** parse the header lines of `s` from `i` (the start of the first header line) to the empty line */
function parseFields(s: string, i: number, h: Head, isRequest: boolean): { host: string | undefined; hostCount: number; expect: string | null; hasDate: boolean } {
  const headers = h.headers;
  const kinds = h.kinds;
  let host: string | undefined;
  let hostCount = 0;
  let expect: string | null = null;
  let hasDate = false;
  let clCount = 0;
  const what = isRequest ? 'request' : 'response';
  for (;;) {
    const lineStart = i;
    let c = s.charCodeAt(i);
    if (c === CR) {
      // the empty line ends the head; a CR anywhere else at a line start is a bare CR
      if (i !== s.length - 2) throw new HttpParseError(400, `a CR without LF at the start of a ${what} header line`);
      break;
    }
    while (TCHAR[s.charCodeAt(i)] === 1) i++;
    if (i === lineStart) {
      throw new HttpParseError(400, c === 32 || c === 9 ? `a ${what} header line starts with whitespace (obsolete line folding is not accepted)` : `invalid character in a ${what} header name`);
    }
    if (s.charCodeAt(i) !== 58 /* : */) throw new HttpParseError(400, s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9 ? `whitespace between a ${what} header name and its colon` : `invalid character in a ${what} header name`);
    const nameEnd = i;
    i++;
    while ((c = s.charCodeAt(i)) === 32 || c === 9) i++;
    const vStart = i;
    let vEnd = i;
    for (;;) {
      c = s.charCodeAt(i);
      if (c === CR) break;
      if (VALUE[c] !== 1) throw new HttpParseError(400, `invalid character (0x${c.toString(16).padStart(2, '0')}) in the value of ${what} header ${s.slice(lineStart, nameEnd)}`);
      i++;
      if (c !== 32 && c !== 9) vEnd = i;
    }
    if (s.charCodeAt(i + 1) !== LF) throw new HttpParseError(400, `a CR without LF in ${what} header ${s.slice(lineStart, nameEnd)}`);
    i += 2;
    const name = s.slice(lineStart, nameEnd);
    const value = s.slice(vStart, vEnd);
    const kind = kindOf(s, lineStart, nameEnd - lineStart);
    headers.push(name, value);
    kinds.push(kind);
    switch (kind) {
      case K_HOST:
        hostCount++;
        host = value;
        break;
      case K_CONTENT_LENGTH: {
        const n = contentLength(value);
        if (n < 0) throw new HttpParseError(400, `invalid Content-Length ${JSON.stringify(value)}`);
        if (clCount > 0 && (isRequest || n !== h.contentLength)) throw new HttpParseError(400, 'more than one Content-Length');
        clCount++;
        h.contentLength = n;
        break;
      }
      case K_TRANSFER_ENCODING:
        if (h.hasTransferEncoding) throw new HttpParseError(400, 'more than one Transfer-Encoding header');
        h.hasTransferEncoding = true;
        if (value.length === 7 && eqLower(value, 0, 'chunked')) h.chunked = true;
        else if (isRequest) throw new HttpParseError(501, `Transfer-Encoding ${JSON.stringify(value)} is not supported (only "chunked")`);
        else responseCodings(value, h as ResponseHead);
        break;
      case K_CONNECTION:
        h.connection = h.connection === null ? value : `${h.connection}, ${value}`;
        connectionTokens(value, h);
        break;
      case K_UPGRADE:
        h.upgrade = h.upgrade === null ? value : `${h.upgrade}, ${value}`;
        break;
      case K_EXPECT:
        expect = value;
        break;
      case K_DATE:
        hasDate = true;
        break;
    }
  }
  if (h.hasTransferEncoding && clCount > 0) throw new HttpParseError(400, 'both Content-Length and Transfer-Encoding (a request-smuggling pattern)');
  return { host, hostCount, expect, hasDate };
}

/** 1*DIGIT within Number.MAX_SAFE_INTEGER, else -1 */
function contentLength(v: string): number {
  const n = v.length;
  if (n === 0 || n > 15) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    x = x * 10 + d;
  }
  return x;
}

/**
 * A response's Transfer-Encoding other than plain "chunked": sets `chunked` (chunked is
 * the final coding), `codings` (the others, in order) and `codingsChunked`. Refuses an
 * empty list, an element that is not a token (parameters after ";" are kept as sent), and
 * chunked applied twice.
 */
function responseCodings(v: string, h: ResponseHead): void {
  const parts = v.split(',');
  const kept: string[] = [];
  let chunkedAt = -1;
  for (let k = 0; k < parts.length; k++) {
    const t = parts[k].trim();
    if (t === '') continue; // a list may hold empty elements (RFC 9110 5.6.1)
    let n = 0;
    while (n < t.length && TCHAR[t.charCodeAt(n)] === 1) n++;
    let j = n;
    while (t.charCodeAt(j) === 32 || t.charCodeAt(j) === 9) j++;
    if (n === 0 || (j < t.length && t.charCodeAt(j) !== 59 /* ; */)) throw new HttpParseError(502, `invalid Transfer-Encoding ${JSON.stringify(v)}`);
    if (n === 7 && eqLower(t, 0, 'chunked')) {
      if (chunkedAt >= 0) throw new HttpParseError(502, `Transfer-Encoding ${JSON.stringify(v)} applies chunked more than once`);
      chunkedAt = kept.length;
    }
    kept.push(t);
  }
  if (kept.length === 0) throw new HttpParseError(502, 'an empty Transfer-Encoding');
  h.chunked = chunkedAt === kept.length - 1;
  if (h.chunked) kept.pop();
  h.codingsChunked = !h.chunked && chunkedAt >= 0;
  h.codings = kept.length === 0 ? null : kept.join(', ');
}

function connectionTokens(v: string, h: Head): void {
  for (const part of v.split(',')) {
    const t = part.trim().toLowerCase();
    if (t === '') continue;
    if (t === 'close') h.closeToken = true;
    else if (t === 'upgrade') h.connectionUpgrade = true;
    else if (t === 'keep-alive') h.keepAliveToken = true;
    // Host is end-to-end whatever Connection says: the backend must see the host routed by
    else if (t !== 'host') (h.listed ??= []).push(t);
  }
  // "close" wins over "keep-alive"; HTTP/1.0 closes unless asked to keep the connection
  h.close = h.closeToken || (h.minor === 0 && !h.keepAliveToken);
}

function newHead(minor: number, size: number): Head {
  return {
    headers: [], kinds: [], minor, contentLength: -1, chunked: false, hasTransferEncoding: false,
    connection: null, close: minor === 0, closeToken: false, keepAliveToken: false, connectionUpgrade: false, upgrade: null, listed: null, size,
  };
}

/**
 * Parse a request head of `buf` from `from` to `end` (as found by headEnd). Leading empty
 * lines (RFC 9112 2.2) are skipped by the caller.
 */
export function parseRequestHead(buf: Buffer, from: number, end: number): RequestHead {
  const s = (buf as LatinBuffer).latin1Slice(from, end);
  let i = 0;
  while (TCHAR[s.charCodeAt(i)] === 1) i++;
  if (i === 0 || s.charCodeAt(i) !== 32) throw new HttpParseError(400, 'invalid method in the request line');
  const method = s.slice(0, i);
  const tStart = ++i;
  while (TARGET[s.charCodeAt(i)] === 1) i++;
  if (i === tStart || s.charCodeAt(i) !== 32) throw new HttpParseError(400, 'invalid request target (it must be one token without spaces or control bytes)');
  const target = s.slice(tStart, i);
  i++;
  let minor: number;
  if (s.startsWith('HTTP/1.1\r\n', i)) minor = 1;
  else if (s.startsWith('HTTP/1.0\r\n', i)) minor = 0;
  else if (/^HTTP\/\d\.\d\r\n/.test(s.slice(i, i + 10))) throw new HttpParseError(505, `HTTP version ${s.slice(i + 5, i + 8)} is not supported`);
  else throw new HttpParseError(400, 'invalid HTTP version in the request line');
  i += 10;
  const h = newHead(minor, end - from) as RequestHead;
  h.method = method;
  h.target = target;
  const f = parseFields(s, i, h, true);
  if (f.hostCount > 1) throw new HttpParseError(400, 'more than one Host header');
  if (f.hostCount === 0 && minor === 1) throw new HttpParseError(400, 'an HTTP/1.1 request without Host');
  if (h.hasTransferEncoding && minor === 0) throw new HttpParseError(400, 'Transfer-Encoding in an HTTP/1.0 request');
  h.host = f.host;
  h.expect = f.expect;
  return h;
}

/** parse a response head of `buf` from `from` to `end` (as found by headEnd) */
export function parseResponseHead(buf: Buffer, from: number, end: number): ResponseHead {
  const s = (buf as LatinBuffer).latin1Slice(from, end);
  let minor: number;
  if (s.startsWith('HTTP/1.1 ')) minor = 1;
  else if (s.startsWith('HTTP/1.0 ')) minor = 0;
  else throw new HttpParseError(502, 'the status line does not start with HTTP/1.1 or HTTP/1.0');
  const d0 = s.charCodeAt(9) - 48;
  const d1 = s.charCodeAt(10) - 48;
  const d2 = s.charCodeAt(11) - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) throw new HttpParseError(502, 'invalid status code in the status line');
  let i = 12;
  let reason = '';
  const c = s.charCodeAt(i);
  if (c === 32) {
    const rStart = ++i;
    while (VALUE[s.charCodeAt(i)] === 1) i++;
    reason = s.slice(rStart, i);
  }
  if (s.charCodeAt(i) !== CR || s.charCodeAt(i + 1) !== LF) throw new HttpParseError(502, 'invalid status line');
  const h = newHead(minor, end - from) as ResponseHead;
  h.status = d0 * 100 + d1 * 10 + d2;
  h.reason = reason;
  h.codings = null;
  h.codingsChunked = false;
  let f;
  try {
    f = parseFields(s, i + 2, h, false);
  } catch (e) {
    throw e instanceof HttpParseError ? new HttpParseError(502, e.message) : e;
  }
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty
  if (h.hasTransferEncoding && minor === 0) throw new HttpParseError(502, 'Transfer-Encoding in an HTTP/1.0 response');
  h.hasDate = f.hasDate;
  return h;
}

/** the count of empty lines (CRLF) at `from`, which RFC 9112 2.2 lets a server skip before a request line */
export function leadingEmptyLines(buf: Buffer, from: number): number {
  let i = from;
  while (i + 1 < buf.length && buf[i] === CR && buf[i + 1] === LF) i += 2;
  return i - from;
}
