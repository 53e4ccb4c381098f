-- Routing tests for demo.lua, the config behind `npm start`
-- (run: luaproxy test examples/demo_test.lua).

routes {
  -- host                        path                                               expected
  { "IronHand.example.com",      "/",                                               "app1" },
  { "ironhand.EXAMPLE.com:8080", "/",                                               "app1" },
  { "www.example.com",           "/",                                               "app3" },
  { "a.example.com",             "/",                                               "app2" },
  { "www.example.com",           "/user/fred/webapps/IronHand.example.com/reload",  "app1" },
  { "www.example.com",           "/user/fred/webapps/a.example.com/reload",         "app2" },
  { "www.example.com",           "/old-page",  { status = 301, headers = { location = "/new-page" } } },
  { "www.example.com",           "/old-page/", "app3" },
}

test("a host whose backend is drained moves, and moves back when undrained", function()
  expect_route("www.example.com", "/", "app3")
  drain("app3")
  local r = route("www.example.com", "/")
  ok(r.backend == "app1" or r.backend == "app2", "a drained backend gets no new requests")
  up("app3")
  expect_route("www.example.com", "/", "app3")
end)

test("with every backend down, hashing still answers a backend (panic mode)", function()
  down("app1"); down("app2"); down("app3")
  local r = route("ironhand.example.com", "/")
  eq(r.kind, "backend")
end)
