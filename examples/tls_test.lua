-- Routing tests for tls.lua (run: luaproxy test examples/tls_test.lua). Tests load the
-- routing only, so they need no certificate files. A row says scheme = "https" for a
-- request on the TLS listener; tls_sni defaults to the host there.

routes {
  -- plain HTTP goes to HTTPS with the path and query, whatever the site
  { "example.com",          "/pricing?plan=pro", { status = 308, headers = { location = "https://example.com/pricing?plan=pro" } } },
  { "API.example.com:80",   "/v1/users",         { status = 308, headers = { location = "https://api.example.com/v1/users" } } },
  -- over HTTPS each site reaches its backend
  { host = "api.example.com", path = "/v1/users", scheme = "https", expect = { backend = "api", path = "/v1/users" } },
  { host = "www.example.com", path = "/",         scheme = "https", expect = "www" },
  { host = "example.com",     path = "/",         scheme = "https", expect = "www" },
  -- a connection made for www.example.com asking for the api: refused
  { host = "api.example.com", scheme = "https", tls_sni = "www.example.com", expect = { status = 421 } },
}

