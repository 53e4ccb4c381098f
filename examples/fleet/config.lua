-- One script for a whole fleet, published to etcd with `luaproxy push config.lua --etcd URL`.
-- Every instance runs it with its own --listen and --admin; the backend list comes from
-- etcd (<prefix>backends, published with `luaproxy push --backends backends.json`) and
-- replaces the list below, which is what `luaproxy check` and `luaproxy test` use here.
backends = {
  { name = "web1", url = "http://127.0.0.1:9001" },
  { name = "web2", url = "http://127.0.0.1:9002" },
}

-- many proxies check every backend: keep the check cheap and the interval scaled with
-- the fleet (docs/fleet.md, "Health stays local"); passive ejection reacts first anyway
health = { path = "/healthz", interval = 15 }

-- a fleet applies a change everywhere at once: refuse one that moves most hosts
reload = { max_failing = 0.5, fleet_max_moved = 0.75 }

local apps = require "apps"

function route(host, path)
  local domain = apps.reload_target(path)
  if domain then return proxy.hash(domain) end
  if host == "status.example.com" then
    return { status = 200, body = "ok\n" }
  end
  return proxy.hash(host)
end

-- run on every instance before a version goes live, with the backend list from etcd:
-- so no row names a backend the list may not have
tests = {
  { "status.example.com", "/", { status = 200, body = "ok\n" } },
  { "STATUS.Example.com:80", "/", { status = 200 } },
}
