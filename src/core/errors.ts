/**
 * The one error catalog and error type of luaproxy. Every failure carries a stable `code`
 * (`LPX_<AREA>_<WHAT>`) that callers and tests match on; the catalog gives each code the
 * HTTP status it is answered with on the request path, the exit code of a CLI command it
 * ends, and a short fixed title (the body of an error page the proxy answers with a fixed
 * message). Messages say what was expected, what arrived, and where (`config.lua:14: ...`).
 * docs/errors.md documents every entry; test/errors-catalog-in-step.test.ts keeps the two
 * in step.
 */

export interface ErrorInfo {
  /** the HTTP status when the error happens on the request path (500 for errors that never do) */
  readonly status: number;
  /** the process exit code when the error ends a CLI command */
  readonly exit: number;
  /** a short fixed phrase, for a client or a log reader */
  readonly title: string;
}

const catalog = {
  // loading and validating a script
  LPX_CONFIG_SYNTAX: { status: 500, exit: 1, title: 'the script has a Lua syntax error' },
  LPX_CONFIG_LOAD: { status: 500, exit: 1, title: 'the script raised an error while it was loaded' },
  LPX_CONFIG_INVALID: { status: 500, exit: 1, title: 'the script sets an invalid setting or backend' },
  LPX_CONFIG_FILE: { status: 500, exit: 1, title: 'the script file cannot be read' },
  // calling route() on the request path
  LPX_ROUTE_ERROR: { status: 500, exit: 1, title: 'the routing script failed for this request (see the proxy log)' },
  LPX_ROUTE_BUDGET: { status: 500, exit: 1, title: 'the routing script ran out of its budget for this request (see the proxy log)' },
  LPX_ROUTE_RETURN: { status: 500, exit: 1, title: 'the routing script returned an invalid route for this request (see the proxy log)' },
  LPX_ROUTE_NO_BACKEND: { status: 500, exit: 1, title: 'the routing script named a backend that does not exist (see the proxy log)' },
  LPX_ROUTE_NONE: { status: 404, exit: 1, title: 'no route for this host and path' },
  // talking to backends
  LPX_UPSTREAM_REFUSED: { status: 502, exit: 1, title: 'the backend refused the connection' },
  LPX_UPSTREAM_RESET: { status: 502, exit: 1, title: 'the backend closed the connection before answering' },
  LPX_UPSTREAM_PROTOCOL: { status: 502, exit: 1, title: 'the backend sent an invalid response' },
  /** an https backend failed the TLS handshake (its certificate failed verification, most often); retried like a refused connect */
  LPX_UPSTREAM_TLS: { status: 502, exit: 1, title: 'the TLS handshake with the backend failed (see the proxy log)' },
  LPX_UPSTREAM_CONNECT_TIMEOUT: { status: 504, exit: 1, title: 'the backend did not accept a connection in time' },
  LPX_UPSTREAM_HEADER_TIMEOUT: { status: 504, exit: 1, title: 'the backend sent no response headers in time' },
  LPX_UPSTREAM_BODY_TIMEOUT: { status: 504, exit: 1, title: 'the backend stalled in the middle of its response' },
  LPX_UPSTREAM_UNAVAILABLE: { status: 503, exit: 1, title: 'no backend is available' },
  LPX_UPSTREAM_OVERLOADED: { status: 503, exit: 1, title: 'the backend is at its request limit and its queue is full' },
  LPX_UPSTREAM_QUEUE_TIMEOUT: { status: 503, exit: 1, title: 'the backend is at its request limit and the request waited too long in its queue' },
  /** internal to the backend leg (a reload or shutdown closed the pool a request waited on); answered as LPX_UPSTREAM_RESET */
  LPX_UPSTREAM_POOL_CLOSED: { status: 502, exit: 1, title: 'the connection pool of the backend was closed' },
  // client side
  LPX_CLIENT_BAD_REQUEST: { status: 400, exit: 1, title: 'malformed request' },
  LPX_CLIENT_METHOD_NOT_ALLOWED: { status: 405, exit: 1, title: 'CONNECT is not supported: this is a reverse proxy' },
  LPX_CLIENT_TIMEOUT: { status: 408, exit: 1, title: 'request timed out' },
  LPX_CLIENT_EXPECTATION_FAILED: { status: 417, exit: 1, title: 'unsupported expectation (only 100-continue is)' },
  LPX_CLIENT_HEADERS_TOO_LARGE: { status: 431, exit: 1, title: 'request headers too large' },
  LPX_CLIENT_ABORTED: { status: 499, exit: 1, title: 'the client closed the connection before the response' },
  LPX_CLIENT_TRANSFER_ENCODING: { status: 501, exit: 1, title: 'unsupported Transfer-Encoding (only chunked is)' },
  LPX_CLIENT_HTTP_VERSION: { status: 505, exit: 1, title: 'HTTP version not supported' },
  // reload
  LPX_RELOAD_REFUSED: { status: 500, exit: 1, title: 'the new script was refused; the old one keeps serving' },
  /** a reload's dry run tripped the blast-radius guard (reload.max_failing, reload.max_moved, reload.fleet_max_moved) */
  LPX_RELOAD_GUARD: { status: 500, exit: 1, title: 'the new script would fail or move too much of the recent traffic; the old one keeps serving' },
  /** a reload whose new listen address could not be bound (the old listener stays) */
  LPX_RELOAD_LISTEN: { status: 500, exit: 1, title: 'the new listen address cannot be bound; the old listener stays' },
  // a fleet of instances on etcd (run --etcd, push, status, drain)
  /** etcd cannot be reached, or refused a request (the endpoints, and what was being done, are named) */
  LPX_FLEET_ETCD: { status: 500, exit: 1, title: 'etcd cannot be reached or refused the request' },
  /** an instance cannot start: etcd is unreachable and there is no local cache, or etcd holds no script */
  LPX_FLEET_NO_VERSION: { status: 500, exit: 1, title: 'there is no version to start from (etcd unreachable and no cache, or nothing published)' },
  /** the local cache of a fleet instance cannot be read or is damaged */
  LPX_FLEET_CACHE: { status: 500, exit: 1, title: 'the fleet cache cannot be read' },
  /** a push lost the race: etcd changed since the revision the push read */
  LPX_FLEET_CONFLICT: { status: 500, exit: 1, title: 'etcd changed since the push read it; nothing was written' },
  /** push refused to publish: the script or backend list fails its checks, or would trip the guard */
  LPX_FLEET_PUSH_REFUSED: { status: 500, exit: 1, title: 'the push was refused; nothing was written' },
  // the admin listener
  LPX_ADMIN_INSECURE: { status: 500, exit: 1, title: 'the admin listener is not on loopback and has no token' },
  LPX_ADMIN_LISTEN: { status: 500, exit: 1, title: 'the admin listener cannot listen on its address' },
  // routing tests (luaproxy test / diff / check --hosts)
  /** a test file misuses the test API (unknown backend, bad case table) */
  LPX_TEST_USAGE: { status: 500, exit: 1, title: 'a test file misuses the test API' },
  /** routing tests or routing properties failed (not raised today: `test` and `check --hosts` set exit 1 themselves) */
  LPX_TEST_FAILED: { status: 500, exit: 1, title: 'routing tests failed' },
  // automatic certificates (ACME)
  /** an order for a certificate failed (the ACME server refused it, could not validate the challenge, or could not be reached); retried with a backoff */
  LPX_ACME_ORDER: { status: 500, exit: 1, title: 'a certificate could not be obtained from the ACME server' },
  /** an order was not placed: the per-name backoff, the orders-in-flight cap or the hourly rate said no */
  LPX_ACME_LIMIT: { status: 500, exit: 1, title: 'no certificate was ordered: a backoff or an order limit is in effect' },
  /** the acme.storage folder cannot be read or written */
  LPX_ACME_STORAGE: { status: 500, exit: 1, title: 'the ACME storage folder cannot be read or written' },
  // the command line
  LPX_CLI_USAGE: { status: 500, exit: 2, title: 'invalid command-line usage' },
  /** `luaproxy init` found a file it would overwrite */
  LPX_CLI_EXISTS: { status: 500, exit: 1, title: 'the file to write already exists' },
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof catalog;

/** every code, in catalog order */
export const errorCodes = Object.freeze(Object.keys(catalog)) as readonly ErrorCode[];

/** the catalog entry of `code` */
export function errorInfo(code: ErrorCode): ErrorInfo {
  return catalog[code];
}

/** code -> HTTP status (public API; derived from the catalog) */
export const codes: Readonly<Record<ErrorCode, number>> = Object.freeze(
  Object.fromEntries(errorCodes.map((c) => [c, catalog[c].status])) as Record<ErrorCode, number>,
);

const CLIENT_BY_STATUS = new Map<number, ErrorCode>(errorCodes.filter((c) => c.startsWith('LPX_CLIENT_')).map((c) => [catalog[c].status, c]));

/** the client-side code answered with `status` (a request-head parse error's 400/408/431/501/505); LPX_CLIENT_BAD_REQUEST for any other */
export function clientCode(status: number): ErrorCode {
  return CLIENT_BY_STATUS.get(status) ?? 'LPX_CLIENT_BAD_REQUEST';
}

/** longest message and traceback an error keeps: a script controls their text, and they are logged, stored and served */
export const MAX_MESSAGE = 4096;
export const MAX_TRACEBACK = 8192;

/** `s` cut to `max` characters, saying how much was left out */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length - max} more characters)`;
}

export class LpxError extends Error {
  readonly code: ErrorCode;
  /** the HTTP status of the code (catalog) */
  readonly status: number;
  /** the exit code of a CLI command this error ends (catalog) */
  readonly exit: number;
  /** a Lua traceback through the user's code, when the error came from a script */
  traceback?: string;
  /** `file:line` where the problem is, when known */
  where?: string;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; traceback?: string; where?: string } = {}) {
    super(truncate(message, MAX_MESSAGE), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LpxError';
    this.code = code;
    this.status = catalog[code].status;
    this.exit = catalog[code].exit;
    if (opts.traceback) this.traceback = truncate(opts.traceback, MAX_TRACEBACK);
    if (opts.where) this.where = opts.where;
  }
}

export function isLpxError(e: unknown, code?: ErrorCode): e is LpxError {
  return e instanceof LpxError && (code === undefined || e.code === code);
}
