/**
 * `luaproxy init [dir]`: write a commented starter config.lua, its routing tests and a
 * .luarc.json for the Lua language server, so a new user starts from files that pass
 * `luaproxy check` and `luaproxy test` at once. `--tls` adds an HTTPS listener with a
 * self-signed certificate for localhost made on the spot, and a redirect from plain HTTP.
 * It never overwrites: when any of the files exists it writes none of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { LpxError } from '../core/errors.js';
import { makeCert, type Issued } from '../tls/self-signed.js';

/** the LuaLS stubs shipped with the package */
export const LUA_META_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lua/meta');

/** where `init --tls` puts the certificate and its key, relative to the folder */
export const TLS_CERT = 'certs/localhost.pem';
export const TLS_KEY = 'certs/localhost.key';
/** the HTTPS port of the TLS starter; the redirect names it, since it is not 443 */
const HTTPS_PORT = 8443;

const LISTEN_PLAIN = `-- Where to listen: a port (all interfaces) or "host:port".
listen = 8080
`;

const LISTEN_TLS = `-- Where to listen: a port (all interfaces) or "host:port"; a list for several listeners.
-- The second one speaks HTTPS (TLS) with the certificates of the tls table below.
listen = { 8080, { address = ${HTTPS_PORT}, tls = true } }

-- The certificates HTTPS serves, chosen by the name the client asks for (SNI); "default"
-- is for clients that ask for a name no certificate has, or for none (an IP address).
-- ${TLS_CERT} is self-signed for localhost (made by luaproxy init --tls), so
-- browsers and curl do not trust it (curl -k). For a real site, list your certificate
-- and its key (PEM), e.g. from Let's Encrypt; saving a renewed file reloads the config.
tls = {
  certificates = {
    { cert = "${TLS_CERT}", key = "${TLS_KEY}" },
  },
  default = "localhost",
  -- min_version = "TLSv1.2",     -- or "TLSv1.3"
}
`;

// after /healthz, so a load balancer's plain-HTTP health check is still answered
const REDIRECT_TLS = `  -- plain HTTP goes to HTTPS (308 keeps the method and body); drop ":${HTTPS_PORT}" once
  -- HTTPS listens on 443. req.scheme is "https" on the TLS listener.
  if req.scheme == "http" then return { status = 308, headers = { location = "https://" .. host .. ":${HTTPS_PORT}" .. req.url } } end
`;

/** the starter config.lua, plain or with an HTTPS listener */
export function starterConfig(opts: { tls?: boolean } = {}): string {
  return `-- luaproxy configuration. Docs: docs/lua-api.md in the luaproxy package.
--   luaproxy check config.lua     validate it without opening sockets
--   luaproxy test                 run the routing tests in config_test.lua
--   luaproxy run config.lua       serve; saving this file reloads it, so does SIGHUP
--
-- The file runs once per load (and again on every reload): define things here, do not
-- do work. route() below runs once per request.

${opts.tls ? LISTEN_TLS : LISTEN_PLAIN}
-- The backends. route() returns one of these names. A plain URL string is named after
-- its host:port.
backends = {
  { name = "app1", url = "http://127.0.0.1:9001" },
  { name = "app2", url = "http://127.0.0.1:9002" },
}

-- Settings are optional tables; each key has a default (see docs/lua-api.md).
timeouts = { connect = 5, header = 60 }
-- health = { path = "/health", interval = 5 }     -- active HTTP health checks
-- log = { level = "info", access = true }

-- Called once per request.
--   host: the Host header, lower-cased, without port or trailing dot
--   path: the request path, without the query
--   req:  req.method, req.url, req.query, req.headers, req.client, req.scheme (read only if needed)
-- Return a backend name, nil (404), { backend = ..., path = ..., headers = ... } to
-- forward with rewrites, or { status = ..., headers = ..., body = ... } to answer.
---@param host string
---@param path string
---@param req luaproxy.Request
---@return luaproxy.RouteResult
function route(host, path, req)
  -- answer some requests directly, without a backend
  if path == "/healthz" then
    return { status = 200, body = "ok\\n" }
  end
${opts.tls ? REDIRECT_TLS : ''}  if host == "www.example.com" then
    -- req.url is the path with its query; req is read only when a script touches it
    return { status = 301, headers = { location = "https://example.com" .. req.url } }
  end
  -- everything else: each host always goes to the same backend (consistent hashing
  -- over the healthy ones; adding a backend moves only about 1/(n+1) of the hosts)
  return proxy.hash(host)
end
`;
}

export const STARTER_CONFIG = starterConfig();

// the TLS starter's rows and calls say scheme = "https": over plain HTTP everything but /healthz is redirected
const TESTS_TLS_ROWS = `routes {
  { "example.com", "/healthz", { status = 200, body = "ok\\n" } },
  { "localhost:8080", "/a?b=1", { status = 308, headers = { location = "https://localhost:${HTTPS_PORT}/a?b=1" } } },
  { host = "www.example.com", path = "/a?b=1", scheme = "https", expect = { status = 301, headers = { location = "https://example.com/a?b=1" } } },
}

-- what route sees on the HTTPS listener
local HTTPS = { scheme = "https" }
`;

const TESTS_PLAIN_ROWS = `routes {
  { "example.com", "/healthz", { status = 200, body = "ok\\n" } },
  { "www.example.com", "/a?b=1", { status = 301, headers = { location = "https://example.com/a?b=1" } } },
}
`;

/** the routing tests of the starter config, in the format of docs/testing.md */
export function starterTests(opts: { tls?: boolean } = {}): string {
  const req = opts.tls ? ', HTTPS' : '';
  return `-- Routing tests for config.lua (X_test.lua tests X.lua beside it). Run: luaproxy test
-- Nothing is sent anywhere: route() is called directly, with every backend up.
-- Docs: docs/testing.md in the luaproxy package.

-- One request per row: { host, path, expected }. The expectation is a backend name,
-- false for "no route" (404), or a table naming only what matters
-- (backend, path, headers, status, body).
${opts.tls ? TESTS_TLS_ROWS : TESTS_PLAIN_ROWS}
-- A test function, for what one row cannot say.
test("a host goes to one backend whatever its case or port", function()
  local first = route("shop.example.com", "/"${req})
  expect_route("SHOP.Example.com:8080", "/cart", first.backend${req})
end)

test("while its backend is down a host moves, and it comes back after", function()
  local home = route("shop.example.com", "/"${req}).backend
  down(home)
  local moved = route("shop.example.com", "/"${req}).backend
  ok(moved ~= home, "a down backend gets no requests")
  up(home)
  expect_route("shop.example.com", "/", home${req})
end)
`;
}

export const STARTER_TESTS = starterTests();

export interface InitResult {
  dir: string;
  written: string[];
}

/** a certificate for `init --tls`: self-signed, for localhost, valid for a year */
export function localhostCertificate(): Promise<Issued> {
  return makeCert({ names: ['localhost'] });
}

/** the files `init` writes, by name; with `tls`, the TLS starter and that certificate's files */
export function starterFiles(dir: string, opts: { tls?: Issued } = {}): Record<string, string> {
  const abs = path.resolve(dir);
  // installed in this project (<project>/node_modules/luaproxy/...): a relative path keeps
  // the project movable; a global install or a checkout gets the absolute path
  const nm = LUA_META_DIR.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  const project = nm < 0 ? null : LUA_META_DIR.slice(0, nm);
  const local = project !== null && (abs === project || abs.startsWith(project + path.sep));
  const library = local ? path.relative(abs, LUA_META_DIR).split(path.sep).join('/') : LUA_META_DIR;
  const luarc = {
    $schema: 'https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json',
    runtime: { version: 'Lua 5.3', builtin: { io: 'disable', os: 'disable', debug: 'disable', package: 'disable', coroutine: 'disable' } },
    workspace: { library: [library], checkThirdParty: false },
  };
  const tls = opts.tls !== undefined;
  return {
    'config.lua': starterConfig({ tls }),
    'config_test.lua': starterTests({ tls }),
    '.luarc.json': JSON.stringify(luarc, null, 2) + '\n',
    ...(opts.tls ? { [TLS_CERT]: opts.tls.cert, [TLS_KEY]: opts.tls.key } : {}),
  };
}

/** write the starter files into `dir` (created if missing); throws LPX_CLI_EXISTS and writes nothing when any exists */
export function init(dir: string, opts: { tls?: Issued } = {}): InitResult {
  const abs = path.resolve(dir);
  if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
    throw new LpxError('LPX_CLI_EXISTS', `${dir}: is a file, not a folder; luaproxy init wants a folder to write config.lua into`);
  }
  const files = starterFiles(abs, opts);
  const existing = Object.keys(files).filter((f) => fs.existsSync(path.join(abs, f)));
  if (existing.length) {
    throw new LpxError('LPX_CLI_EXISTS', `${existing.map((f) => path.join(dir, f)).join(', ')} already exist${existing.length === 1 ? 's' : ''}; luaproxy init never overwrites (move ${existing.length === 1 ? 'it' : 'them'} away, or pick another folder)`);
  }
  fs.mkdirSync(abs, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const target = path.join(abs, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // 'wx' fails if the file appeared since the check, so nothing is ever overwritten;
    // a private key is readable by its owner only
    fs.writeFileSync(target, text, { flag: 'wx', mode: name === TLS_KEY ? 0o600 : 0o666 });
    written.push(path.join(dir, name));
  }
  return { dir: abs, written };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented starter config.lua, its routing tests and a .luarc.json for editors; never overwrites')
    .argument('[dir]', 'folder to write into (created if missing)', '.')
    .option('--tls', `also listen for HTTPS on ${HTTPS_PORT}, with a self-signed certificate for localhost made now (${TLS_CERT}, ${TLS_KEY}), and redirect plain HTTP to it`)
    .addHelpText('after', '\nExamples:\n  $ luaproxy init myproxy && cd myproxy && luaproxy check config.lua && luaproxy test\n  $ luaproxy init --tls myproxy && cd myproxy && luaproxy run config.lua   # then: curl -k https://localhost:8443/healthz')
    .action(async (dir: string, o: { tls?: boolean }) => {
      const r = init(dir, { tls: o.tls ? await localhostCertificate() : undefined });
      const cd = path.resolve(dir) === process.cwd() ? '' : `cd ${dir} && `;
      let out = `wrote ${r.written.join(', ')}\nnext: ${cd}luaproxy check config.lua && luaproxy test && luaproxy run config.lua\n`;
      if (o.tls) {
        out += `then try HTTPS (-k: the certificate is self-signed, so curl does not trust it):\n`
          + `  curl -k https://localhost:${HTTPS_PORT}/healthz   answered by route() itself\n`
          + `  curl -k https://localhost:${HTTPS_PORT}/          forwarded to app1 or app2 (502 until they run)\n`
          + `  curl -i http://localhost:8080/               308 to https://localhost:${HTTPS_PORT}/\n`;
      }
      process.stdout.write(out);
    });
}
