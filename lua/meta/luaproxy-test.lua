---@meta luaproxy-test
-- LuaLS type stubs for routing-test files (X_test.lua, run by `luaproxy test`). A test
-- file runs in its own sandbox with these functions; each test gets a freshly loaded
-- copy of the script, with every backend up. No socket is opened. See docs/testing.md.

---What one call of route() decided, as a test sees it. `kind` says which fields apply.
---@class luaproxy.TestResult
---@field kind "backend"|"respond"|"none"|"invalid_host"|"bad_request" `"backend"`: forwarded; `"respond"`: answered by the script; `"none"`: route returned nil (404); `"invalid_host"`: the Host header is not a host name (400, route not called); `"bad_request"`: the target is neither a path nor an http:// URL (400, route not called).
---@field backend? string The backend's name (kind `"backend"`).
---@field path? string The rewritten path, when route rewrote it (kind `"backend"`).
---@field headers? table<string, string|false> Headers route set (`false`: removed), or the answer's headers.
---@field status? integer The status of a direct answer, 404 for no route, 400 for a bad host.
---@field body? string The body of a direct answer.

---An expectation: a backend name, `false` (or NO_ROUTE) for no route, or a table that
---names only what matters; fields left out are not compared.
---@alias luaproxy.Expected string|false|luaproxy.ExpectedTable

---@class luaproxy.ExpectedTable
---@field backend? string
---@field path? string The path as the backend sees it.
---@field headers? table<string, string|false> Headers route set (`false`: removed).
---@field status? integer
---@field body? string
---@field error? string Text that the error route raises must contain.

---A request's other parts, for route() and expect_route().
---@class luaproxy.TestRequest
---@field method? string Default `"GET"`.
---@field query? string The query without `?` (or put it in the path: `"/a?b=1"`).
---@field headers? table<string, string>
---@field client? string The client address. Default `"127.0.0.1"`.
---@field scheme? "http"|"https" Default `"http"`.
---@field http_version? "1.0"|"1.1"|"2" Default `"1.1"`.
---@field tls_sni? string|false The TLS server name; default nil (or the host, when `scheme` is `"https"`); `false`: a TLS client that sent none.

---One row of a `routes { ... }` table (or of a script's own `tests`): positional
---`{ host, path, expected }`, or named, with backend state simulated for that row only.
---@class luaproxy.Case
---@field [1]? string host
---@field [2]? string path
---@field [3]? luaproxy.Expected expected
---@field host? string The Host header as a client sends it (any case, a port, a trailing dot).
---@field path? string The path, with an optional query. Default `"/"`.
---@field expect? luaproxy.Expected
---@field name? string A name for the report.
---@field method? string
---@field query? string
---@field headers? table<string, string>
---@field client? string
---@field down? string|string[] Backends down for this row.
---@field drained? string|string[] Backends drained for this row.
---@field weights? table<string, number> Backend weights for this row.

---In a test file: the script under test, relative to the test file, when it is not the
---X.lua beside X_test.lua (`script = "../config.lua"`). In a config script the same
---global is the `script` settings table.
---@type string
script = nil

---Call the script's route() as the proxy would, for a Host header as a client sends it,
---and return what it decided. Only inside test().
---@param host string
---@param path? string The path, with an optional query. Default `"/"`.
---@param req? luaproxy.TestRequest
---@return luaproxy.TestResult
function route(host, path, req) end

---The expectation for "no route" (route returned nil, the proxy answers 404): `false`.
---@type false
NO_ROUTE = false

---Register a test. It runs later against a freshly loaded copy of the script.
---@param name string
---@param fn fun()
function test(name, fn) end

---Register one test per row; each row runs with every backend up, plus its own
---`down`, `drained` and `weights`. `routes("name", { ... })` prefixes the rows' names.
---@param cases luaproxy.Case[]
---@overload fun(group: string, cases: luaproxy.Case[])
function routes(cases) end

---Assert that a request routes as expected; a failure reports this line, what was
---expected, and what route returned. Only inside test().
---@param host string The Host header as a client sends it.
---@param path? string The path, with an optional query. Default `"/"`.
---@param expected luaproxy.Expected
---@param req? luaproxy.TestRequest
function expect_route(host, path, expected, req) end

---Assert that two values are equal (tables compared deeply).
---@param actual any
---@param expected any
---@param message? string
function eq(actual, expected, message) end

---Assert that a value is true (neither nil nor false).
---@param value any
---@param message? string
function ok(value, message) end

---Mark a backend down (failed health checks): the balancers skip it. Only inside test().
---@param name string
function down(name) end

---Mark a backend up again, and undrain it. Only inside test().
---@param name string
function up(name) end

---Drain a backend, as the operator does: it gets no new requests. Only inside test().
---@param name string
function drain(name) end

---Change a backend's weight. Only inside test().
---@param name string
---@param w number Above 0.
function weight(name, w) end

---Ask the script's `tls_allow` as the proxy does: may `host` get a certificate by ACME?
---Names in `acme.names` always may; without an `acme` table, or without `tls_allow`, other
---names may not. Only inside test().
---@param host string A server name (SNI).
---@return boolean
function tls_allow(host) end

---Put every backend back as the script declares it (up, undrained, its own weight), and
---reset the balancers and the seeded randomness. Only inside test().
function reset() end

---The backends as `proxy.backends()` shows them to the script. Only inside test().
---@return luaproxy.BackendView[]
function backends() end

---Call a global function of the script under test and return its results. Only inside test().
---@param name string
---@param ... any
---@return any
function call(name, ...) end
