-- A hosting platform: every web app's hostname lives on one backend of the cluster,
-- chosen by consistent hashing, so adding a backend moves only about 1/(n+1) of the apps.
-- The control URL /user/<name>/webapps/<domain>/reload must reach the backend that runs
-- <domain>, whatever Host header it arrives with.
listen = 8080

backends = {
  { name = "web1", url = "http://127.0.0.1:9001" },
  { name = "web2", url = "http://127.0.0.1:9002" },
  { name = "web3", url = "http://127.0.0.1:9003" },
  { name = "web4", url = "http://127.0.0.1:9004" },
}

timeouts = { connect = 2, header = 30 }
health = { path = "/health", interval = 5 }

local RELOAD = "^/user/[^/]+/webapps/([^/]+)/reload$"

-- the key an app is hashed by: its host name, lower-cased, without a trailing dot
local function app_key(domain)
  return (domain:lower():gsub("%.$", ""))
end

function route(host, path)
  local domain = path:match(RELOAD)
  if domain then
    return proxy.hash(app_key(domain))
  end
  return proxy.hash(host)   -- host arrives lower-cased, port and trailing dot removed
end
