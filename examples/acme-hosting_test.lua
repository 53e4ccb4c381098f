-- Tests for acme-hosting.lua (run: luaproxy test examples/acme-hosting_test.lua): which
-- names may get a certificate, and that every one of them is served somewhere.

routes {
  -- plain HTTP goes to HTTPS (the ACME challenges are answered before route() runs)
  { "shop.customer-one.com", "/cart?x=1", { status = 308, headers = { location = "https://shop.customer-one.com/cart?x=1" } } },
  { host = "shop.customer-one.com", path = "/cart", scheme = "https", expect = "web1" },
  { host = "www.customer-two.org",  path = "/",     scheme = "https", expect = "web2" },
  { host = "www.example.com",       path = "/",     scheme = "https", expect = "www" },
  { host = "unknown.example.org",   path = "/",     scheme = "https", expect = NO_ROUTE },
}

test("customer domains and one-label apps get certificates; nothing else does", function()
  ok(tls_allow("shop.customer-one.com"))
  ok(tls_allow("www.customer-two.org"))
  ok(tls_allow("blog.apps.example.com"))
  ok(tls_allow("www.example.com"), "acme.names need no permission")
  ok(not tls_allow("customer-one.com"), "a customer's other names are not theirs to claim")
  ok(not tls_allow("apps.example.com"))
  ok(not tls_allow("a.b.apps.example.com"), "apps are one label deep")
  ok(not tls_allow("evil.example.org"))
end)

test("every name tls_allow allows is routed over HTTPS", function()
  for _, host in ipairs({ "shop.customer-one.com", "www.customer-two.org", "blog.apps.example.com", "example.com" }) do
    ok(tls_allow(host), host)
    ok(route(host, "/", { scheme = "https" }).kind ~= "none", host .. " is allowed a certificate but routed nowhere")
  end
end)
