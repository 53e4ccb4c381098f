-- The demo behind `npm start`: three demo backends (started by `luaproxy demo`) and
-- hosting-platform routing. Try:
--   curl -H 'Host: IronHand.example.com' http://127.0.0.1:8080/
listen = "127.0.0.1:8080"

backends = {
  { name = "app1", url = "http://127.0.0.1:9101" },
  { name = "app2", url = "http://127.0.0.1:9102" },
  { name = "app3", url = "http://127.0.0.1:9103" },
}

function route(host, path)
  -- /user/<name>/webapps/<domain>/reload goes to the backend that serves <domain>
  local domain = path:match("^/user/[^/]+/webapps/([^/]+)/reload$")
  if domain then return proxy.hash(domain:lower()) end
  if path == "/old-page" then return { status = 301, headers = { location = "/new-page" } } end
  return proxy.hash(host)   -- host is already lower-cased, without port
end
