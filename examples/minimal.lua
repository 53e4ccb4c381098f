-- The smallest useful config: two backends, each host always on the same one.
listen = 8080

backends = {
  "http://127.0.0.1:9001",
  "http://127.0.0.1:9002",
}

function route(host, path)
  return proxy.hash(host)
end
