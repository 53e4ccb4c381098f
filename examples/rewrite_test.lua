-- Routing tests for rewrite.lua (run: luaproxy test examples/rewrite_test.lua).
-- An expectation table names only what matters: backend, path (as the backend sees
-- it), headers (false = removed), status, body.

routes {
  -- redirect the bare domain to www, keeping the path
  { "example.com",     "/pricing",   { status = 301, headers = { location = "https://www.example.com/pricing" } } },
  { "Example.COM:80",  "/",          { status = 301, headers = { location = "https://www.example.com/" } } },
  -- deny /admin, whatever follows
  { "www.example.com", "/admin",     { status = 403, body = "forbidden\n" } },
  { "www.example.com", "/admin/x",   { status = 403 } },
  -- strip /api, tag the version, drop the cookie
  { "www.example.com", "/api/users", { backend = "api", path = "/users", headers = { ["x-api-version"] = "2", cookie = false } } },
  { "www.example.com", "/api/",      { backend = "api", path = "/" } },
  { "www.example.com", "/apiary",    "www" },
  { "www.example.com", "/healthz",   { status = 200, body = "ok\n" } },
  { "www.example.com", "/",          { backend = "www", path = "/" } },
}

test("the api backend gets the query untouched beside the stripped path", function()
  local r = route("www.example.com", "/api/search?q=lua")
  eq(r.backend, "api")
  eq(r.path, "/search")
  eq(r.headers, { ["x-api-version"] = "2", cookie = false })
end)
