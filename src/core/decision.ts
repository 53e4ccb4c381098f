/**
 * The one type for what became of a request at the routing step, and every way it is
 * written out. The Lua layer makes the first three kinds (route returned a backend, a
 * direct answer, or nil); the routing seam adds the two the proxy decides without or
 * around the script (a request refused before route runs, and a script that failed).
 * The proxy, `luaproxy route`, the test API, `luaproxy diff`, the reload log and the
 * access log all read a Decision and render it with the functions below, so they agree.
 */
import type { ErrorCode, LpxError } from './errors.js';

export type Decision =
  /** forward to backend `index` (named `name`); `path` is route's rewrite; `hashKey` is the proxy.hash key hash failover follows, or -1 (follow the Host's) */
  | { readonly kind: 'backend'; readonly index: number; readonly name: string; readonly path: string | null; readonly headers: ReadonlyArray<readonly [string, string | null]> | null; readonly hashKey: number }
  /** answer directly, as route asked */
  | { readonly kind: 'respond'; readonly status: number; readonly headers: ReadonlyArray<readonly [string, string]> | null; readonly body: Buffer | null }
  /** route returned nil: 404 */
  | { readonly kind: 'none' }
  /** refused before route ran (an invalid Host, a target that is not a path or an http:// URL): 400 */
  | { readonly kind: 'refused'; readonly code: ErrorCode; readonly what: 'host' | 'target'; readonly reason: string }
  /** route failed: an error, its budget, a bad return value, an unknown backend: 500 */
  | { readonly kind: 'error'; readonly error: LpxError };

export const NO_ROUTE: Decision = Object.freeze({ kind: 'none' });

/** the status the proxy answers with, or 0 when it forwards (the backend's status) */
export function decisionStatus(d: Decision): number {
  switch (d.kind) {
    case 'backend': return 0;
    case 'respond': return d.status;
    case 'none': return 404;
    case 'refused': return 400;
    case 'error': return 500;
  }
}

export type LogKind = 'forward' | 'respond' | 'none' | 'refused' | 'error';

/** the access log's `route` field */
export function logKind(d: Decision | null): LogKind | null {
  if (d === null) return null;
  return d.kind === 'backend' ? 'forward' : d.kind;
}

/**
 * What route decided, as plain data: the result of the TypeScript and Lua test APIs and
 * of `luaproxy route --json`. Header names are lower-cased; a body is read as UTF-8.
 */
export type RouteResult =
  | { kind: 'backend'; backend: string; path: string | null; headers: Record<string, string | false> | null }
  | { kind: 'respond'; status: number; headers: Record<string, string> | null; body: string | null }
  /** route returned nil: the proxy answers 404 */
  | { kind: 'none'; status: 404 }
  /** the Host header is not a host name: the proxy answers 400 without calling route */
  | { kind: 'invalid_host'; status: 400 }
  /** the request target is neither a path nor an http:// URL: the proxy answers 400 without calling route */
  | { kind: 'bad_request'; status: 400; reason: string };

/** a Decision as plain data; an error decision has no plain form: its LpxError is thrown */
export function toResult(d: Decision): RouteResult {
  switch (d.kind) {
    case 'backend':
      return { kind: 'backend', backend: d.name, path: d.path, headers: d.headers ? Object.fromEntries(d.headers.map(([k, v]) => [k.toLowerCase(), v === null ? false : v])) : null };
    case 'respond':
      return { kind: 'respond', status: d.status, headers: d.headers ? Object.fromEntries(d.headers.map(([k, v]) => [k.toLowerCase(), v])) : null, body: d.body ? d.body.toString('utf8') : null };
    case 'none': return { kind: 'none', status: 404 };
    case 'refused': return d.what === 'host' ? { kind: 'invalid_host', status: 400 } : { kind: 'bad_request', status: 400, reason: d.reason };
    case 'error': throw d.error;
  }
}

/** the short name of where a request went: a backend name, `answer 301`, `no route (404)`, `invalid host (400)`, `bad request (400)` or `error` */
export function destination(d: Decision): string {
  switch (d.kind) {
    case 'backend': return d.name;
    case 'respond': return `answer ${d.status}`;
    case 'none': return 'no route (404)';
    case 'refused': return d.what === 'host' ? 'invalid host (400)' : 'bad request (400)';
    case 'error': return 'error';
  }
}

/** one line in the words a person reads: `backend "web1"`, `answer 301 (headers { location = "/x" })` */
export function describe(d: Decision): string {
  const r = d.kind === 'backend' || d.kind === 'respond' ? toResult(d) : null;
  if (r?.kind === 'backend') {
    const extra: string[] = [];
    if (r.path !== null) extra.push(`path ${JSON.stringify(r.path)}`);
    if (r.headers) extra.push(`headers ${luaTable(r.headers)}`);
    return `backend ${JSON.stringify(r.backend)}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  }
  if (r?.kind === 'respond') {
    const extra: string[] = [];
    if (r.headers) extra.push(`headers ${luaTable(r.headers)}`);
    if (r.body !== null) extra.push(`body ${JSON.stringify(r.body)}`);
    return `answer ${r.status}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  }
  switch (d.kind) {
    case 'refused': return d.what === 'host' ? 'invalid Host header (400; route is not called)' : `bad request: ${d.reason} (400; route is not called)`;
    case 'error': return `an error: ${d.error.message}`;
    default: return 'no route (route returned nil: 404)';
  }
}

/** what route returned, in Lua syntax (`"web1"`, `{ status = 301, ... }`, `nil`) */
export function luaResult(d: Decision): string {
  switch (d.kind) {
    case 'backend':
      return d.path === null && d.headers === null ? JSON.stringify(d.name) : luaTable(backendTable(toResult(d)));
    case 'respond': {
      const r = toResult(d) as Extract<RouteResult, { kind: 'respond' }>;
      return luaTable({ status: r.status, ...(r.headers ? { headers: r.headers } : {}), ...(r.body !== null ? { body: r.body } : {}) });
    }
    case 'none': return 'nil';
    case 'refused': return d.what === 'host' ? '(not called: invalid Host header)' : `(not called: ${d.reason})`;
    case 'error': return `(error) ${d.error.message}`;
  }
}

function backendTable(r: RouteResult): Record<string, unknown> {
  const b = r as Extract<RouteResult, { kind: 'backend' }>;
  return { backend: b.backend, ...(b.path !== null ? { path: b.path } : {}), ...(b.headers ? { headers: b.headers } : {}) };
}

/** plain data written as a Lua table constructor */
export function luaTable(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `{ ${v.map(luaTable).join(', ')} }`;
  const parts = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `[${JSON.stringify(k)}]`} = ${luaTable(x)}`);
  return parts.length ? `{ ${parts.join(', ')} }` : '{}';
}
