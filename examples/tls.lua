-- HTTPS for two sites on one address: the certificate is chosen by the name the client
-- asks for (SNI), plain HTTP is redirected to HTTPS, and a request whose Host names
-- another site than its TLS connection was made for is refused. Docs: docs/tls.md.
--
-- The certificate files are not in the repository (they would expire). Make them in
-- certs/ next to this file first; until then `luaproxy check examples/tls.lua` stops at
-- the first one, naming it:
--   examples/tls.lua:NN: tls.certificates[1].cert: cannot read "certs/example.com.pem": no such file (ENOENT, ...)
-- Self-signed ones for trying it out, with openssl (run in this folder):
--
--   mkdir -p certs
--   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
--     -subj /CN=example.com -addext "subjectAltName=DNS:example.com,DNS:www.example.com" \
--     -keyout certs/example.com.key -out certs/example.com.pem
--   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
--     -subj /CN=api.example.com -addext "subjectAltName=DNS:api.example.com" \
--     -keyout certs/api.example.com.key -out certs/api.example.com.pem
--
-- For localhost alone, `luaproxy init --tls DIR` writes a starter with its certificate.
-- For real sites, point cert and key at your CA's files (Let's Encrypt: fullchain.pem
-- and privkey.pem); saving a renewed file reloads the config.

-- 80 and 443 need root or CAP_NET_BIND_SERVICE (see docs/deploy.md)
listen = { 80, { address = 443, tls = true } }

tls = {
  certificates = {
    { cert = "certs/example.com.pem", key = "certs/example.com.key" },          -- example.com, www.example.com
    { cert = "certs/api.example.com.pem", key = "certs/api.example.com.key" },  -- api.example.com
  },
  -- for clients that send no name (an IP address) or one no certificate has
  default = "example.com",
}

backends = {
  { name = "api", url = "http://127.0.0.1:9001" },
  { name = "www", url = "http://127.0.0.1:9002" },
}

function route(host, path, req)
  if req.scheme == "http" then return { status = 308, headers = { location = "https://" .. host .. req.url } } end
  -- the connection was made for one site and the request asks for another (a client
  -- reusing a connection across names, or domain fronting): 421 makes it reconnect
  if req.tls_sni and req.tls_sni ~= host then
    return { status = 421, body = "misdirected request\n" }
  end
  if host == "api.example.com" then return "api" end
  return "www"
end
