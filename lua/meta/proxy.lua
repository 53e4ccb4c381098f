---@meta proxy
-- LuaLS type stubs for the `proxy` module: a global in every script, and also
-- `local proxy = require "proxy"`. Its helpers are written in TypeScript: call them
-- instead of writing hash or balancing loops in Lua, which run 5-10 times slower.
-- The balancing helpers (hash, round_robin, least_conn, random) work only inside
-- route(): the backend list does not exist yet while the file is being loaded. They
-- choose among the available backends (healthy, not drained, not ejected); when none
-- is available they choose among all that are not drained, and that request fails fast.

---@alias luaproxy.BackendStatus "up"|"down"|"drained"

---One backend as the proxy sees it right now.
---@class luaproxy.BackendView
---@field name string The backend's name.
---@field url string Its URL.
---@field weight number Its weight.
---@field status luaproxy.BackendStatus `"up"`, `"down"` (failed health checks) or `"drained"` (by the operator).
---@field healthy boolean Whether it gets new requests now (up, not drained, not ejected).
---@field inflight integer Requests in flight to it.
---@field queued integer Requests waiting for one of its concurrency slots.
---@field requests integer Requests sent to it since it was added.
---@field failures integer Failed requests since it was added.
---@field retries integer Connect retries that moved a request away from it.
---@field drained boolean Drained by the operator (gets no new requests).
---@field checks_ok boolean What active health checks say (true until `health.fall` checks fail).
---@field ejected boolean Ejected for now by passive health (too many failed requests in a row).
---@field ejections integer Ejections in a row; each doubles the ejection time.
---@field last_error string? The code of its last failure (`"LPX_UPSTREAM_REFUSED"`, ...), or nil.
---@field last_error_at number? When that failure happened (seconds since the epoch), or nil.
---@field last_check string? What the last health check found, or nil before the first one.

---@alias luaproxy.ScriptLogLevel "trace"|"debug"|"info"|"warn"|"error"

---@class proxylib
proxy = {}

---Consistent hashing over the healthy backends (weighted rendezvous): the same key
---always picks the same backend while the set of healthy backends stays the same, and
---adding one backend to n moves only about 1/(n+1) of the keys. Deterministic across
---processes and machines. Hosts reach route() already lower-cased.
---
---Raises `bad argument #1 to 'hash' (string expected, got nil)` for a key that is
---neither a string nor a number. Only inside route().
---@param key string|number The key, usually `host`.
---@return string? name The chosen backend's name; nil only when there is none to choose (no backends, or all drained).
function proxy.hash(key) end

---Smooth weighted round robin over the healthy backends. Only inside route().
---@return string? name The chosen backend's name; nil only when there is none to choose (no backends, or all drained).
function proxy.round_robin() end

---The healthy backend with the fewest requests in flight relative to its weight.
---Only inside route().
---@return string? name The chosen backend's name; nil only when there is none to choose (no backends, or all drained).
function proxy.least_conn() end

---Weighted random choice (power of two choices) among the healthy backends.
---Only inside route().
---@return string? name The chosen backend's name; nil only when there is none to choose (no backends, or all drained).
function proxy.random() end

---Every backend with its current health and load, in config order. A new table on each
---call: cheap enough now and then, not something to call on every request.
---@return luaproxy.BackendView[]
function proxy.backends() end

---One backend by name, with its current health and load.
---@param name string
---@return luaproxy.BackendView? view nil when there is no backend of that name.
function proxy.backend(name) end

---Write a line to the proxy's log, tagged with the script's file:line. With two or more
---arguments and a level name first, logs at that level; otherwise at "info". The
---arguments are joined with spaces (`print` also logs, with tabs, at "info").
---@param level luaproxy.ScriptLogLevel
---@param ... any
---@overload fun(message: any)
function proxy.log(level, ...) end

return proxy
