/**
 * Maps what went wrong on the backend leg to an error code, an HTTP status, and whether
 * the request may be tried again: on another backend when nothing reached the first
 * (connect failures), or once on a fresh connection when a reused one was closed by the
 * backend before any byte came back.
 */
import type { ErrorCode } from '../core/errors.js';
import { codes } from '../core/errors.js';

export type Retry = 'connect' | 'reused' | null;

export interface Failure {
  code: ErrorCode;
  status: number;
  retry: Retry;
  /** counts against the backend's passive health */
  backendFault: boolean;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME']);

function f(code: ErrorCode, retry: Retry, backendFault = true): Failure {
  return { code, status: codes[code], retry, backendFault };
}

export function classify(err: unknown): Failure {
  const code = (err as { code?: string })?.code ?? '';
  if (CONNECT_CODES.has(code)) return f('LPX_UPSTREAM_REFUSED', 'connect');
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT': return f('LPX_UPSTREAM_CONNECT_TIMEOUT', 'connect');
    case 'UND_ERR_HEADERS_TIMEOUT': return f('LPX_UPSTREAM_HEADER_TIMEOUT', null);
    case 'UND_ERR_BODY_TIMEOUT': return f('LPX_UPSTREAM_BODY_TIMEOUT', null);
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_CLOSED':
      return f('LPX_UPSTREAM_RESET', 'reused');
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_REQ_RETRY':
      return f('LPX_CLIENT_BAD_REQUEST', null, false);
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_DESTROYED':
      return f('LPX_CLIENT_ABORTED', null, false);
    default:
      return f('LPX_UPSTREAM_PROTOCOL', null);
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
export function isIdempotent(method: string | undefined): boolean {
  return IDEMPOTENT.has(method ?? 'GET');
}
