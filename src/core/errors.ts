/**
 * The one error type of luaproxy. Every failure carries a stable `code`
 * (`LPX_<AREA>_<WHAT>`) that callers and tests match on, the HTTP status it maps
 * to when it happens on the request path, and the underlying `cause`.
 * Messages say what was expected, what arrived, and where (`config.lua:14: ...`).
 */

export const codes = {
  // loading and validating a script
  LPX_CONFIG_SYNTAX: 500,
  LPX_CONFIG_LOAD: 500,
  LPX_CONFIG_INVALID: 500,
  LPX_CONFIG_FILE: 500,
  // calling route() on the request path
  LPX_ROUTE_ERROR: 500,
  LPX_ROUTE_BUDGET: 500,
  LPX_ROUTE_RETURN: 500,
  LPX_ROUTE_NO_BACKEND: 500,
  LPX_ROUTE_NONE: 404,
  // talking to backends
  LPX_UPSTREAM_REFUSED: 502,
  LPX_UPSTREAM_RESET: 502,
  LPX_UPSTREAM_PROTOCOL: 502,
  LPX_UPSTREAM_CONNECT_TIMEOUT: 504,
  LPX_UPSTREAM_HEADER_TIMEOUT: 504,
  LPX_UPSTREAM_BODY_TIMEOUT: 504,
  LPX_UPSTREAM_UNAVAILABLE: 503,
  LPX_UPSTREAM_OVERLOADED: 503,
  LPX_UPSTREAM_QUEUE_TIMEOUT: 503,
  // client side
  LPX_CLIENT_BAD_REQUEST: 400,
  LPX_CLIENT_HEADERS_TOO_LARGE: 431,
  LPX_CLIENT_TIMEOUT: 408,
  LPX_CLIENT_ABORTED: 499,
  // reload
  LPX_RELOAD_REFUSED: 500,
  /** a reload whose new listen address could not be bound (the old listener stays) */
  LPX_RELOAD_LISTEN: 500,
  // the admin listener
  LPX_ADMIN_INSECURE: 500,
  LPX_ADMIN_LISTEN: 500,
  // routing tests (luaproxy test / diff / check --hosts)
  /** a test file misuses the test API (unknown backend, bad case table) */
  LPX_TEST_USAGE: 500,
  /** routing tests or routing properties failed */
  LPX_TEST_FAILED: 500,
  // the command line
  LPX_CLI_USAGE: 2,
  /** `luaproxy init` found a file it would overwrite */
  LPX_CLI_EXISTS: 500,
} as const;

export type ErrorCode = keyof typeof codes;

/** longest message and traceback an error keeps: a script controls their text, and they are logged, stored and served */
export const MAX_MESSAGE = 4096;
export const MAX_TRACEBACK = 8192;

/** `s` cut to `max` characters, saying how much was left out */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length - max} more characters)`;
}

export class LpxError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** a Lua traceback through the user's code, when the error came from a script */
  traceback?: string;
  /** `file:line` where the problem is, when known */
  where?: string;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; traceback?: string; where?: string } = {}) {
    super(truncate(message, MAX_MESSAGE), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LpxError';
    this.code = code;
    this.status = codes[code];
    if (opts.traceback) this.traceback = truncate(opts.traceback, MAX_TRACEBACK);
    if (opts.where) this.where = opts.where;
  }
}

export function isLpxError(e: unknown, code?: ErrorCode): e is LpxError {
  return e instanceof LpxError && (code === undefined || e.code === code);
}
