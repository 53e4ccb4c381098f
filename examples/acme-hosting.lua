-- A hosting platform where customers bring their own domains: each one gets a
-- certificate from Let's Encrypt on its first HTTPS visit, if tls_allow says it may.
-- The permission is plain Lua in this script, unit-tested by acme-hosting_test.lua,
-- checked on every reload, with no network hop on the handshake. Docs: docs/certificates.md.
--
-- Let's Encrypt validates each name over plain HTTP on port 80 (HTTP-01): the names must
-- resolve to this proxy, and port 80 must reach the plain listener below. Its
-- /.well-known/acme-challenge/ answers come before route(), so the redirect to HTTPS in
-- route() does not get in their way.

-- 80 and 443 need root or CAP_NET_BIND_SERVICE (see docs/deploy.md)
listen = { 80, { address = 443, tls = true } }

acme = {
  -- staging first (its certificates are not trusted, its rate limits are generous);
  -- remove this line to go live with Let's Encrypt production
  directory = "https://acme-staging-v02.api.letsencrypt.org/directory",
  email = "ops@example.com",
  storage = "acme",                               -- beside this script; back it up (docs/certificates.md)
  names = { "example.com", "www.example.com" },   -- the platform's own, obtained at start
  wait = 10,                                      -- a first handshake waits this long for its certificate
  orders_per_hour = 60,
}

backends = {
  { name = "www",  url = "http://127.0.0.1:9000" },
  { name = "web1", url = "http://127.0.0.1:9001" },
  { name = "web2", url = "http://127.0.0.1:9002" },
  { name = "web3", url = "http://127.0.0.1:9003" },
}

-- the customers' own domains and the backend that runs each; a real platform keeps this
-- in a file of its own (require "customers") that its control panel rewrites: saving it
-- reloads the script, and the next handshake for a new domain may get its certificate
local customers = {
  ["shop.customer-one.com"] = "web1",
  ["www.customer-two.org"]  = "web2",
}

-- apps on the platform's own subdomains (blog.apps.example.com), hashed onto the web backends
local APPS = ".apps.example.com"

local function is_app(host)
  return #host > #APPS and host:sub(-#APPS) == APPS and not host:sub(1, -#APPS - 1):find(".", 1, true)
end

-- called once per new server name (per reload), never per handshake; acme.names need no permission
function tls_allow(host)
  return customers[host] ~= nil or is_app(host)
end

function route(host, path, req)
  if req.scheme == "http" then
    return { status = 308, headers = { location = "https://" .. host .. req.url } }
  end
  if host == "example.com" or host == "www.example.com" then return "www" end
  local b = customers[host]
  if b then return b end
  if is_app(host) then return proxy.hash(host) end
  return nil
end
