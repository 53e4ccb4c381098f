/**
 * Answers the proxy writes itself: error pages for failures (with the error code in a
 * header, and Retry-After on 503) and the direct responses a script asks for.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { ErrorCode } from '../core/errors.js';
import { directHeaders } from './headers.js';

export function errorBody(status: number, message: string): Buffer {
  return Buffer.from(`${status} ${STATUS_CODES[status] ?? ''}: ${message}\n`);
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, retryAfter = 1): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = errorBody(status, message);
  const headers: string[] = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length), 'x-luaproxy-error', code];
  if (status === 503) headers.push('retry-after', String(retryAfter));
  res.writeHead(status, headers);
  res.end(body);
}

export function sendDirect(res: ServerResponse, status: number, headers: ReadonlyArray<readonly [string, string]> | null, body: Buffer | null): void {
  res.writeHead(status, directHeaders(headers, body));
  res.end(body ?? undefined);
}

/** a whole response on a raw socket (upgrade requests that did not upgrade); the connection closes after it */
export function rawHead(status: number, statusText: string | undefined, headers: readonly string[]): string {
  let s = `HTTP/1.1 ${status} ${statusText || STATUS_CODES[status] || ''}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return s + 'connection: close\r\n\r\n';
}

export function rawError(socket: Socket, status: number, code: ErrorCode, message: string): void {
  if (socket.destroyed) return;
  const body = errorBody(status, message);
  socket.end(rawHead(status, undefined, ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length), 'x-luaproxy-error', code]) + body.toString('latin1'), 'latin1');
}

/** a direct response from route() to an upgrade request, on the raw socket; the connection closes after it */
export function rawDirect(socket: Socket, status: number, headers: ReadonlyArray<readonly [string, string]> | null, body: Buffer | null): void {
  if (socket.destroyed) return;
  socket.write(rawHead(status, undefined, directHeaders(headers, body)), 'latin1');
  if (body) socket.end(body);
  else socket.end();
}
