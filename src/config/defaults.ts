/**
 * Every setting luaproxy has, with its default, in one object. A script overrides them
 * with tables of the same names (`timeouts = { connect = 2 }`). Times are in seconds,
 * sizes in bytes. docs/lua-api.md documents each one; a test keeps the two in step.
 */

export const defaults = {
  timeouts: {
    /** seconds to open a TCP connection to a backend; then the next backend is tried */
    connect: 5,
    /** seconds for a backend to send its response headers; then 504 */
    header: 60,
    /** seconds a backend may stay silent in the middle of a response body; then the client connection is closed */
    body: 300,
    /** seconds a client has to send its request headers (stops slowloris) */
    client_header: 20,
    /** seconds a client has to send its whole request, body included; 0 = no limit */
    client_request: 300,
    /** seconds an idle keep-alive client connection stays open */
    client_idle: 30,
    /** seconds an idle pooled connection to a backend is kept; keep it below the backends' own keep-alive timeout */
    backend_idle: 4,
    /** seconds in-flight requests get to finish on SIGTERM/SIGINT before the process exits anyway */
    shutdown: 30,
  },
  retries: {
    /** extra tries on the next candidate backend after a connect failure or connect timeout (nothing reached the backend) */
    connect: 2,
    /** retry once when a reused keep-alive connection was closed by the backend before any byte came back (idempotent methods only) */
    reused: true,
  },
  limits: {
    /** client connections open at once; more are refused */
    client_connections: 10000,
    /** largest request header block in bytes; more gets 431 */
    header_size: 16384,
    /** pooled connections to one backend; 0 = no cap. A slow client holds its backend connection while it reads, so a cap lets slow readers starve everyone else: set one only together with a queue you want (backend_concurrency) */
    backend_connections: 0,
    /** requests in flight to one backend at once; more wait in its queue. 0 = limits.backend_connections (so no request ever waits unbounded inside the connection pool); 0 for both = no limit */
    backend_concurrency: 0,
    /** requests that may wait for one backend's concurrency slot; more get 503 with Retry-After at once */
    queue: 1000,
    /** seconds a request may wait in that queue before 503 with Retry-After */
    queue_timeout: 5,
  },
  script: {
    /** VM instructions per route() call */
    instructions: 1_000_000,
    /** seconds of wall-clock time per route() call */
    time: 0.05,
    /** bytes the heap may grow during one route() call */
    heap: 64 * 1024 * 1024,
    /** largest string one operation may build, in bytes */
    max_string: 4 * 1024 * 1024,
    /** pattern-matching steps per string.find/match/gmatch/gsub call */
    match_steps: 200_000,
    /** VM instructions for running the script file once at load */
    load_instructions: 50_000_000,
    /** seconds for running the script file once at load */
    load_time: 2,
    /** seconds the script's own `tests` may take in all when a script goes live (start, reload, check); past that it is refused */
    own_tests_time: 2,
    /** bytes the script's Lua state may hold across requests (estimated by walking it every few thousand requests); past that the script is reloaded from its file */
    state_size: 64 * 1024 * 1024,
  },
  health: {
    /** seconds between active checks of one backend (jittered by ±10%); 0 turns active checks off */
    interval: 5,
    /** seconds one check may take */
    timeout: 2,
    /** HTTP path to check; nil means a TCP connect check */
    path: null as string | null,
    /** HTTP method of the check */
    method: 'GET',
    /** statuses that count as healthy */
    expect: [200, 399] as [number, number],
    /** good checks in a row to mark a down backend up */
    rise: 2,
    /** failed checks in a row to mark an up backend down */
    fall: 3,
    /** consecutive failed requests (connect errors, resets, 5xx) that eject a backend; 0 turns passive ejection off */
    eject_after: 5,
    /** seconds of the first ejection; doubles on each ejection that follows the last one within eject_max; with active checks on, the backend also needs `rise` good checks to return */
    eject_time: 10,
    /** longest ejection, in seconds */
    eject_max: 300,
  },
  admin: {
    /** "host:port" of the admin listener (metrics, status, reload); nil = off unless --admin is given */
    listen: null as string | null,
    /** bearer token the admin API requires; required when listen is not a loopback address */
    token: null as string | null,
  },
  log: {
    /** trace, debug, info, warn, error or silent */
    level: 'info',
    /** one line per request */
    access: true,
  },
  upgrade: {
    /** Upgrade protocols passed through to backends (only when the backend answers 101) */
    protocols: ['websocket'] as string[],
  },
  http2: {
    /** streams one HTTP/2 client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused */
    max_concurrent_streams: 100,
    /** bytes a client may send on one stream before the proxy has read them (SETTINGS_INITIAL_WINDOW_SIZE) */
    initial_window_size: 65535,
    /** megabytes one HTTP/2 session may hold inside node:http2 (queued frames, header tables); past it new streams are refused */
    session_memory: 10,
    /** streams a client may cancel within 10 s before its session is closed with ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487) */
    max_resets: 200,
  },
  forwarded: {
    /** send X-Forwarded-For (the client's address), X-Forwarded-Proto (http or https, as the client came) and X-Forwarded-Host (the client's Host) */
    x_forwarded: true,
    /** send the RFC 7239 Forwarded header (for=, proto=, host=) */
    forwarded: false,
    /** peers (IP addresses or CIDRs like "10.0.0.0/8", IPv4 or IPv6) whose X-Forwarded-For and Forwarded are extended; anyone else's are replaced */
    trust: [] as string[],
  },
  reload: {
    /** share (0 to 1) of the recent successful requests a new version may answer 404 or 5xx in its dry run; past it the version is refused (luaproxy reload --force overrides); 1 turns the guard off */
    max_failing: 0.5,
    /** share (0 to 1) of the recent hosts a new version from a file (save, SIGHUP, admin API) may send to another destination; past it the version is refused (--force overrides); 1 turns the guard off */
    max_moved: 1,
    /** the same as max_moved for a version from etcd (run --etcd): on by default, since a fleet applies a change everywhere at once; doubling the backends moves about half the hosts with proxy.hash, which passes */
    fleet_max_moved: 0.75,
  },
  watchdog: {
    /** seconds the event loop may stop turning before the process logs a fatal line and ends itself (exit code 71), for its supervisor to restart it; 0 turns the watchdog off */
    kill_after: 10,
  },
  acme: {
    /** the ACME directory URL (Let's Encrypt production; staging: https://acme-staging-v02.api.letsencrypt.org/directory) */
    directory: 'https://acme-v02.api.letsencrypt.org/directory',
    /** contact address given to the ACME account (expiry notices); nil = none */
    email: null as string | null,
    /** folder (relative to the script) for the account key, certificates, keys, locks and pending challenges */
    storage: 'acme',
    /** a PEM file (relative to the script) of extra CAs for the ACME server's own HTTPS (private or test servers); nil = node's default CAs */
    ca: null as string | null,
    /** names to obtain at start and keep renewed, without asking tls_allow */
    names: [] as string[],
    /** seconds before expiry to renew a certificate; 0 = when a third of its lifetime is left */
    renew_before: 0,
    /** how the ACME server checks a name: "http-01" (on every plain HTTP listener) */
    challenge: 'http-01',
    /** key of each certificate: "ecdsa-p256", "ecdsa-p384", "rsa-2048" or "rsa-4096" */
    key_type: 'ecdsa-p256',
    /** seconds a handshake for a name whose order is in progress waits; then it gets the default certificate */
    wait: 10,
    /** orders in flight at once, for all names; more wait their turn */
    orders_in_flight: 4,
    /** new orders per hour (renewals included); past that an order fails and is retried later */
    orders_per_hour: 60,
  },
} as const;

type Widen<T> = T extends number ? number : T extends string ? string : T extends boolean ? boolean : T extends readonly (infer U)[] ? Widen<U>[] : T;
type D = typeof defaults;
export type Settings = { -readonly [K in keyof D]: { -readonly [P in keyof D[K]]: Widen<D[K][P]> } };

/** the listen address when the script gives none */
export const DEFAULT_LISTEN = 8080;
