-- Routing tests for minimal.lua (run: luaproxy test examples/minimal_test.lua).
-- A backend given as a bare URL is named after its host:port.

routes {
  { "ironhand.example.com",    "/",      "127.0.0.1:9002" },
  { "IRONHAND.EXAMPLE.COM.",   "/any",   "127.0.0.1:9002" },
  { "blog.example.com",        "/",      "127.0.0.1:9001" },
  { "blog.example.com:443",    "/x?y=1", "127.0.0.1:9001" },
}

test("both backends get hosts, and a host stays on its backend", function()
  local seen = {}
  for i = 1, 50 do
    local b = route("site" .. i .. ".example.com", "/").backend
    seen[b] = (seen[b] or 0) + 1
    expect_route("SITE" .. i .. ".Example.com", "/other", b)
  end
  ok(seen["127.0.0.1:9001"] and seen["127.0.0.1:9002"], "hosts spread over both backends")
end)

test("a weight of 3 draws most hosts to that backend", function()
  weight("127.0.0.1:9001", 3)
  local n = 0
  for i = 1, 200 do
    if route("site" .. i .. ".example.com", "/").backend == "127.0.0.1:9001" then n = n + 1 end
  end
  ok(n > 120 and n < 180, "about 3/4 of 200 hosts expected, got " .. n)
end)
