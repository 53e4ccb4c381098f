---@meta luaproxy
-- LuaLS type stubs for config.lua: the globals a script may set, the arguments of
-- route() and what it may return, and every settings table with its default.
-- These files are read by the Lua language server only; luaproxy never runs them.
-- Point your editor at this folder (see .luarc.json in examples/ and README.md,
-- "Editor support"). A test (test/luals-stubs.test.ts) keeps them in step with the code.

-- ---------------------------------------------------------------------------------
-- The globals a script sets
-- ---------------------------------------------------------------------------------

---One listener of a list: an address, and what the listener does.
---@class luaproxy.Listener
---@field address integer|string A port, or `"host:port"`.
---@field tls? boolean Terminate TLS with the certificates of `tls`. Default `false`.
---@field proxy_protocol? boolean Every connection starts with a PROXY protocol header (v1 or v2). Default `false`.
---@field http2? boolean Offer HTTP/2 by ALPN (TLS listeners only; clear-text h2c is refused). Default `true` on a TLS listener.

---Where the proxy listens: a port number (all interfaces), `"host:port"`
---(`"127.0.0.1:8080"`, `"[::1]:8080"`), or a list of them, each of which may be a
---table `{ address = 8443, tls = true }`. Default `8080`.
---@type integer|string|(integer|string|luaproxy.Listener)[]
listen = 8080

---A certificate file and its key, paths relative to the script.
---@class luaproxy.Certificate
---@field cert string PEM certificate, the leaf first, then its issuers.
---@field key string PEM private key (not encrypted).

---The certificates TLS listeners serve.
---@class luaproxy.Tls
---@field certificates luaproxy.Certificate[] Picked by the client's server name: exact, then a one-label wildcard, then `default`.
---@field default? string The name whose certificate a client without SNI, or with an unknown name, gets; nil: their handshake fails.
---@field min_version? "TLSv1.2"|"TLSv1.3" Default `"TLSv1.2"`.

---Certificates for TLS listeners (needed when a listener has `tls = true`).
---@type luaproxy.Tls?
tls = nil

---Optional: the certificate for a server name the subjectAltName rules cannot express.
---Called once per new name (cached until the next reload), under the route budget.
---@param host string The server name the client sent (SNI), lower case.
---@return string? name The name of a loaded certificate, or nil for the usual rules.
function tls_certificate(host) end

---Optional: may a server name that no certificate serves yet get one by ACME? Called once
---per name per loaded script (not per handshake), under the route budget; only with an
---`acme` table. Names in `acme.names` are never asked about.
---@param host string The server name the client sent (SNI), lower case.
---@return boolean allowed `true` orders a certificate; anything else refuses.
function tls_allow(host) end

---A backend: a URL string, or a table with a name, a weight and connection options.
---@class luaproxy.Backend
---@field name? string Unique name that route() returns. Defaults to the URL's `host:port`.
---@field url string `"http://host:port"` (no path).
---@field weight? number Share of traffic relative to the others (above 0). Default `1`.
---@field ca? string https only: a PEM file (relative to the script) of the CAs the backend's certificate must chain to, instead of node's default CAs.
---@field verify? boolean https only: `false` accepts any certificate (logged as a warning at load). Default `true`.
---@field servername? string https only: the SNI sent and the name the certificate must carry. Default: the URL's host, when it is a name.
---@field proxy_protocol? "v1"|"v2" Send a PROXY protocol header naming the client first on each connection; such connections are never reused.

---The backends, in order. Each entry is a URL string (`"http://127.0.0.1:9001"`) or a
---table `{ name = "app1", url = "http://10.0.0.5:8000", weight = 2 }`. Names are unique.
---@type (string|luaproxy.Backend)[]
backends = {}

---The request as route() may read it. It is built lazily: a field costs something only
---when the script reads it, so most scripts never touch `req`.
---@class luaproxy.Request
---@field method string The request method as sent: `"GET"`, `"POST"`, ...
---@field url string The request target as sent, not normalized: path and query (`"/a/b?x=1"`).
---@field query string? The query string without `?`, or nil when there is none.
---@field headers table<string, string> Request headers by lower-case name; repeated headers are joined with `", "`.
---@field client string The client's IP address (with PROXY protocol, the address its header gives).
---@field scheme "http"|"https" How the request came: plain HTTP or over TLS.
---@field http_version "1.0"|"1.1"|"2" The HTTP version of the request.
---@field tls_sni string? The TLS server name (SNI) the client asked for, or nil.

---Forward to a backend, and optionally rewrite the path and headers on the way.
---@class luaproxy.Forward
---@field backend string The name of a backend.
---@field path? string New request path (and query) for the backend; must start with `/`.
---@field headers? table<string, string|number|false> Headers to set on the request to the backend; `false` removes one.

---Answer the client directly, without a backend.
---@class luaproxy.Respond
---@field status integer HTTP status, 200 to 599.
---@field headers? table<string, string|number> Response headers, e.g. `{ location = "https://..." }`.
---@field body? string Response body.

---What route() may return: a backend name; nil for "no route" (the proxy answers 404);
---`{ backend = ..., path = ..., headers = ... }` to forward with rewrites; or
---`{ status = ..., headers = ..., body = ... }` to answer without a backend.
---@alias luaproxy.RouteResult string|luaproxy.Forward|luaproxy.Respond|nil

---The type of route(), for annotating your own: `---@type luaproxy.Route`.
---@alias luaproxy.Route fun(host: string, path: string, req: luaproxy.Request): luaproxy.RouteResult

---Called once per request to choose what happens to it. Runs under an instruction and
---time budget (see `script`); an error or a budget overrun answers that request with 500
---and is logged with file:line.
---@param host string The Host header, lower-cased, without port or trailing dot.
---@param path string The request path, without the query.
---@param req luaproxy.Request Method, url, query, headers and client address (read lazily).
---@return luaproxy.RouteResult
function route(host, path, req) end

---Optional routing tests of the script itself, rows in the same form as `routes { ... }`
---in a test file: `{ "IronHand.example.com", "/", "web2" }`. `luaproxy test config.lua`
---and `luaproxy check` run them, and a reload goes live only when they pass.
---@type luaproxy.Case[]
tests = nil

-- ---------------------------------------------------------------------------------
-- Settings tables. Every key is optional; a key that is not set keeps its default.
-- Times are in seconds, sizes in bytes. An unknown key is refused with "did you mean".
-- ---------------------------------------------------------------------------------

---Timeouts, in seconds.
---@class luaproxy.Timeouts
---@field connect? number Seconds to open a TCP connection to a backend; then the next backend is tried. Default `5`.
---@field header? number Seconds for a backend to send its response headers; then 504. Default `60`.
---@field body? number Seconds a backend may stay silent in the middle of a response body; then the client connection is closed. Default `300`.
---@field client_header? number Seconds a client has to send its request headers (stops slowloris). Default `20`.
---@field client_request? number Seconds a client has to send its whole request, body included; 0 = no limit. Default `300`.
---@field client_idle? number Seconds an idle keep-alive client connection stays open. Default `30`.
---@field backend_idle? number Seconds an idle pooled connection to a backend is kept; keep it below the backends' own keep-alive timeout. Default `4`.
---@field shutdown? number Seconds in-flight requests get to finish on SIGTERM/SIGINT before the process exits anyway. Default `30`.

---@type luaproxy.Timeouts
timeouts = {}

---Retries. Only failures where nothing reached the backend are retried.
---@class luaproxy.Retries
---@field connect? integer Extra tries on the next candidate backend after a connect failure or connect timeout. Default `2`.
---@field reused? boolean Retry once when a reused keep-alive connection was closed by the backend before any byte came back (idempotent methods only). Default `true`.

---@type luaproxy.Retries
retries = {}

---Limits on connections, header sizes and queues.
---@class luaproxy.Limits
---@field client_connections? integer Client connections open at once; more are refused. Default `10000`.
---@field header_size? integer Largest request header block in bytes; more gets 431. Default `16384`.
---@field backend_connections? integer Pooled connections to one backend; 0 = no cap. Default `0`.
---@field backend_concurrency? integer Requests in flight to one backend at once; 0 = no limit. Default `0`.
---@field queue? integer Requests that may wait for a backend's concurrency slot; more get 503 at once. Default `1000`.
---@field queue_timeout? number Seconds a request may wait in that queue before 503. Default `5`.

---@type luaproxy.Limits
limits = {}

---Budgets for the script itself, per route() call and for loading the file.
---@class luaproxy.Script
---@field instructions? integer VM instructions per route() call. Default `1000000`.
---@field time? number Seconds of wall-clock time per route() call. Default `0.05`.
---@field heap? integer Bytes the heap may grow during one route() call. Default `67108864`.
---@field max_string? integer Largest string one operation may build, in bytes. Default `4194304`.
---@field match_steps? integer Pattern-matching steps per string.find/match/gmatch/gsub call. Default `200000`.
---@field load_instructions? integer VM instructions for running the script file once at load. Default `50000000`.
---@field load_time? number Seconds for running the script file once at load. Default `2`.
---@field own_tests_time? number Seconds the script's own `tests` may take in all when a script goes live (start, reload, check); past that it is refused. Default `2`.
---@field state_size? integer Bytes the script's Lua state may hold across requests (estimated every few thousand requests); past that the script is reloaded from its file. Default `67108864`.

---@type luaproxy.Script
script = {}

---Active health checks and passive ejection.
---@class luaproxy.Health
---@field interval? number Seconds between active checks of one backend (jittered by ±10%); 0 turns active checks off. Default `5`.
---@field timeout? number Seconds one check may take. Default `2`.
---@field path? string HTTP path to check; nil means a TCP connect check. Default `nil`.
---@field method? string HTTP method of the check. Default `"GET"`.
---@field expect? integer|integer[] Statuses that count as healthy: one status, or a range `{ low, high }`. Default `{ 200, 399 }`.
---@field rise? integer Good checks in a row to mark a down backend up. Default `2`.
---@field fall? integer Failed checks in a row to mark an up backend down. Default `3`.
---@field eject_after? integer Consecutive failed requests (connect errors, resets, 5xx) that eject a backend; 0 turns passive ejection off. Default `5`.
---@field eject_time? number Seconds of the first ejection; doubles on each repeated ejection. Default `10`.
---@field eject_max? number Longest ejection, in seconds. Default `300`.

---@type luaproxy.Health
health = {}

---The admin listener: metrics, status page and admin API.
---@class luaproxy.Admin
---@field listen? string `"host:port"` of the admin listener (metrics, status, reload); nil = off unless --admin is given. Default `nil`.
---@field token? string Bearer token the admin API requires; required when listen is not a loopback address. Default `nil`.

---@type luaproxy.Admin
admin = {}

---@alias luaproxy.LogLevel "trace"|"debug"|"info"|"warn"|"error"|"fatal"|"silent"

---Logging.
---@class luaproxy.Log
---@field level? luaproxy.LogLevel trace, debug, info, warn, error or silent. Default `"info"`.
---@field access? boolean One line per request. Default `true`.

---@type luaproxy.Log
log = {}

---Connection upgrades (WebSocket and others).
---@class luaproxy.Upgrade
---@field protocols? string[] Upgrade protocols passed through to backends (only when the backend answers 101). Default `{ "websocket" }`.

---@type luaproxy.Upgrade
upgrade = {}

---HTTP/2 sessions on TLS listeners (docs/http.md, "HTTP/2").
---@class luaproxy.Http2
---@field max_concurrent_streams? integer Streams one HTTP/2 client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused. Default `100`.
---@field initial_window_size? integer Bytes a client may send on one stream before the proxy has read them (SETTINGS_INITIAL_WINDOW_SIZE). Default `65535`.
---@field session_memory? integer Megabytes one HTTP/2 session may hold inside node:http2 (queued frames, header tables); past it new streams are refused. Default `10`.
---@field max_resets? integer Streams a client may cancel within 10 s before its session is closed with ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487). Default `200`.

---@type luaproxy.Http2
http2 = {}

---The forwarded headers sent to backends (docs/http.md, "Forwarded headers").
---@class luaproxy.Forwarded
---@field x_forwarded? boolean Send X-Forwarded-For (the client's address), X-Forwarded-Proto (http or https, as the client came) and X-Forwarded-Host (the client's Host). Default `true`.
---@field forwarded? boolean Send the RFC 7239 Forwarded header (for=, proto=, host=). Default `false`.
---@field trust? string[] Peers (IP addresses or CIDRs like `"10.0.0.0/8"`, IPv4 or IPv6) whose X-Forwarded-For and Forwarded are extended; anyone else's are replaced. Default `{  }`.

---@type luaproxy.Forwarded
forwarded = {}

---The blast-radius guard of every reload (a save, SIGHUP, the admin API, etcd): shares of the recent requests in the dry run; `--force` lifts it.
---@class luaproxy.Reload
---@field max_failing? number Share (0 to 1) of the recent successful requests a new version may answer 404 or 5xx; past it the version is refused; 1 turns it off. Default `0.5`.
---@field max_moved? number Share (0 to 1) of the recent hosts a new version from a file may send elsewhere; past it the version is refused; 1 turns it off. Default `1`.
---@field fleet_max_moved? number The same as max_moved for a version from etcd (run --etcd). Default `0.75`.

---@type luaproxy.Reload
reload = {}

---The watchdog: a process whose event loop stops turning ends itself, for its supervisor (the cluster primary, systemd) to restart it.
---@class luaproxy.Watchdog
---@field kill_after? number Seconds the event loop may stop turning before the process logs a fatal line and ends itself (exit code 71); 0 turns the watchdog off, otherwise at least 1. Default `10`.

---@type luaproxy.Watchdog
watchdog = {}

---@alias luaproxy.AcmeChallenge "http-01"
---@alias luaproxy.AcmeKeyType "ecdsa-p256"|"ecdsa-p384"|"rsa-2048"|"rsa-4096"

---Automatic certificates by ACME (docs/certificates.md). Setting this table turns them on.
---@class luaproxy.Acme
---@field directory? string The ACME directory URL; staging: `"https://acme-staging-v02.api.letsencrypt.org/directory"`. Default `"https://acme-v02.api.letsencrypt.org/directory"`.
---@field email? string Contact address of the ACME account (expiry notices). Default `nil`.
---@field storage? string Folder (relative to the script) for the account key, certificates, keys, locks and pending challenges. Default `"acme"`.
---@field ca? string A PEM file of extra CAs for the ACME server's own HTTPS (private or test servers). Default `nil`.
---@field names? string[] Names to obtain at start and keep renewed, without asking tls_allow. Default `{  }`.
---@field renew_before? number Seconds before expiry to renew; 0 = when a third of the lifetime is left. Default `0`.
---@field challenge? luaproxy.AcmeChallenge How the ACME server checks a name (on every plain HTTP listener). Default `"http-01"`.
---@field key_type? luaproxy.AcmeKeyType Key of each certificate. Default `"ecdsa-p256"`.
---@field wait? number Seconds a handshake for a name being ordered waits before it gets the default certificate. Default `10`.
---@field orders_in_flight? integer Orders in flight at once, for all names. Default `4`.
---@field orders_per_hour? number New orders per hour, renewals included. Default `60`.

---@type luaproxy.Acme?
acme = nil
