-- Rewrites and direct answers: redirect to a canonical host, deny a path, strip a
-- prefix before forwarding, and add a header for the backend.
listen = 8080

backends = {
  { name = "api", url = "http://127.0.0.1:9001" },
  { name = "www", url = "http://127.0.0.1:9002" },
}

function route(host, path, req)
  if host == "example.com" then
    return { status = 301, headers = { location = "https://www.example.com" .. path } }
  end
  if path:find("^/admin") then
    return { status = 403, body = "forbidden\n" }
  end
  local rest = path:match("^/api(/.*)$")
  if rest then
    return { backend = "api", path = rest, headers = { ["x-api-version"] = "2", cookie = false } }
  end
  if path == "/healthz" then
    return { status = 200, body = "ok\n" }
  end
  return "www"
end
