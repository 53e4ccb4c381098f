/**
 * Answers the proxy writes itself: error pages for failures (with the error code in a
 * header, and Retry-After on 503) and the direct responses a script asks for. A response
 * to a HEAD request carries the head only, with the Content-Length of the body a GET would
 * get. A 204, 205 or 304 has no body whatever the script gave: bytes after such a head
 * would be read by the client as the start of the next response. An error page's status
 * and default message come from the error catalog (src/core/errors.ts) by code.
 */
import { STATUS_CODES } from 'node:http';
import { errorInfo, type ErrorCode } from '../core/errors.js';
import { directHeaders, ownResponseHead } from './headers.js';
import type { ClientConn, Downstream } from './client.js';
import type { Exchange } from './exchange.js';

export function errorBody(status: number, message: string): Buffer {
  return Buffer.from(`${status} ${STATUS_CODES[status] ?? ''}: ${message}\n`);
}

function errorHeaders(status: number, code: ErrorCode, body: Buffer, retryAfter: number): string[] {
  const headers: string[] = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length), 'x-luaproxy-error', code];
  if (status === 503) headers.push('retry-after', String(retryAfter));
  return headers;
}

/**
 * Answer `x` with the error page of `code`: the catalog's status, `message` (the code's
 * title when left out) as the body, and Retry-After on a 503. When its response already
 * started, close the connection instead.
 */
export function sendError(conn: Downstream, x: Exchange, code: ErrorCode, message?: string, retryAfter = 1): void {
  const { status, title } = errorInfo(code);
  if (x.started || conn.gone) {
    conn.abort(false);
    return;
  }
  const body = errorBody(status, message ?? title);
  write(conn, x, status, errorHeaders(status, code, body, retryAfter), body);
}

export function sendDirect(conn: Downstream, x: Exchange, status: number, headers: ReadonlyArray<readonly [string, string]> | null, body: Buffer | null): void {
  if (status === 204 || status === 205 || status === 304) body = null;
  write(conn, x, status, directHeaders(status, headers, body), body);
}

function write(conn: Downstream, x: Exchange, status: number, headers: string[], body: Buffer | null): void {
  x.started = true;
  conn.respondOwn(x, status, headers, body);
}

/**
 * An error answered before there is a request (a malformed head, a timeout), with the
 * catalog's status of `code` and `message` (its title when left out); the connection
 * closes after it.
 */
export function rawError(conn: ClientConn, code: ErrorCode, message?: string): void {
  const { status, title } = errorInfo(code);
  const body = errorBody(status, message ?? title);
  conn.rejectRaw(ownResponseHead(status, errorHeaders(status, code, body, 1), 'close'), body);
}
