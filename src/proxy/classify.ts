/**
 * Maps what went wrong on the backend leg to an error code, an HTTP status, and whether
 * the request may be tried again: on another backend when nothing reached the first
 * (connect failures), or once on a fresh connection when a reused one was closed by the
 * backend before any byte came back. The backend leg marks its own failures with catalog
 * codes (src/core/errors.ts); the status is the catalog's.
 */
import { errorInfo, type ErrorCode } from '../core/errors.js';

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
  return { code, status: errorInfo(code).status, retry, backendFault };
}

export function classify(err: unknown): Failure {
  const code = (err as { code?: string })?.code ?? '';
  if (CONNECT_CODES.has(code)) return f('LPX_UPSTREAM_REFUSED', 'connect');
  switch (code) {
    case 'LPX_UPSTREAM_CONNECT_TIMEOUT': return f('LPX_UPSTREAM_CONNECT_TIMEOUT', 'connect');
    // nothing was sent (the certificate failed verification, or the handshake did): like a refused connect
    case 'LPX_UPSTREAM_TLS': return f('LPX_UPSTREAM_TLS', 'connect');
    case 'LPX_UPSTREAM_HEADER_TIMEOUT': return f('LPX_UPSTREAM_HEADER_TIMEOUT', null);
    case 'LPX_UPSTREAM_BODY_TIMEOUT': return f('LPX_UPSTREAM_BODY_TIMEOUT', null);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'LPX_UPSTREAM_RESET':
      return f('LPX_UPSTREAM_RESET', 'reused');
    case 'LPX_UPSTREAM_POOL_CLOSED':
      // nothing was sent and the backend did nothing wrong: answered as a reset, not counted
      return f('LPX_UPSTREAM_RESET', null, false);
    default:
      // LPX_UPSTREAM_PROTOCOL (a malformed response), anything unexpected
      return f('LPX_UPSTREAM_PROTOCOL', null);
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
export function isIdempotent(method: string | undefined): boolean {
  return IDEMPOTENT.has(method ?? 'GET');
}
