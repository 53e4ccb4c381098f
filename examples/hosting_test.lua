-- Routing tests for hosting.lua (run: luaproxy test examples/hosting_test.lua).
-- Every app's host name lands on one backend in any letter case, the reload URL
-- /user/<name>/webapps/<domain>/reload reaches the backend that runs <domain>, and when a
-- backend goes down only its own apps move.

routes {
  -- host                         path                                               expected
  { "ironhand.example.com",       "/",                                               "web4" },
  { "IronHand.Example.COM",       "/",                                               "web4" },
  { "ironhand.example.com:8080",  "/login?next=/",                                   "web4" },
  { "blog.example.com",           "/",                                               "web1" },
  { "a.example.com",              "/",                                               "web3" },
  { "www.example.com",            "/user/fred/webapps/IronHand.example.com/reload",  "web4" },
  { "www.example.com",            "/user/fred/webapps/ironhand.example.com./reload", "web4" },
  { "blog.example.com",           "/user/ann/webapps/a.example.com/reload",          "web3" },
  -- named form: simulate backend state for one row
  { host = "ironhand.example.com", down = { "web4" }, expect = "web1" },
  { host = "ironhand.example.com", drained = "web4", expect = "web1" },
  { "not a host!",                "/",                                               { status = 400 } },
}

test("an app fails over while its backend is down, and comes back after", function()
  expect_route("ironhand.example.com", "/", "web4")
  down("web4")
  local moved = route("ironhand.example.com", "/").backend
  ok(moved ~= "web4", "a down backend gets no requests")
  -- the reload URL follows the app to the backend that now runs it
  expect_route("www.example.com", "/user/fred/webapps/ironhand.example.com/reload", moved)
  up("web4")
  expect_route("ironhand.example.com", "/", "web4")
end)

test("when a backend goes down only its own apps move", function()
  local before = {}
  for i = 1, 200 do before[i] = route("app" .. i .. ".example.com", "/").backend end
  down("web2")
  local moved = 0
  for i = 1, 200 do
    local now = route("app" .. i .. ".example.com", "/").backend
    if before[i] == "web2" then moved = moved + 1 else eq(now, before[i], "app" .. i .. " moved though its backend is up") end
  end
  ok(moved > 20 and moved < 80, "about a quarter of the apps were on web2, got " .. moved)
end)
