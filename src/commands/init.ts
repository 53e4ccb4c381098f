/**
 * `luaproxy init [dir]`: write a commented starter config.lua, its routing tests and a
 * .luarc.json for the Lua language server, so a new user starts from files that pass
 * `luaproxy check` and `luaproxy test` at once. It never overwrites: when any of the
 * files exists it writes none of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { LpxError } from '../core/errors.js';

/** the LuaLS stubs shipped with the package */
export const LUA_META_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lua/meta');

export const STARTER_CONFIG = `-- luaproxy configuration. Docs: docs/lua-api.md in the luaproxy package.
--   luaproxy check config.lua     validate it without opening sockets
--   luaproxy test                 run the routing tests in config_test.lua
--   luaproxy run config.lua       serve; saving this file reloads it, so does SIGHUP
--
-- The file runs once per load (and again on every reload): define things here, do not
-- do work. route() below runs once per request.

-- Where to listen: a port (all interfaces) or "host:port".
listen = 8080

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
--   req:  req.method, req.url, req.query, req.headers, req.client (read only if needed)
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
  if host == "www.example.com" then
    -- req.url is the path with its query; req is read only when a script touches it
    return { status = 301, headers = { location = "https://example.com" .. req.url } }
  end
  -- everything else: each host always goes to the same backend (consistent hashing
  -- over the healthy ones; adding a backend moves only about 1/(n+1) of the hosts)
  return proxy.hash(host)
end
`;

/** the routing tests of the starter config, in the format of docs/testing.md */
export const STARTER_TESTS = `-- Routing tests for config.lua (X_test.lua tests X.lua beside it). Run: luaproxy test
-- Nothing is sent anywhere: route() is called directly, with every backend up.
-- Docs: docs/testing.md in the luaproxy package.

-- One request per row: { host, path, expected }. The expectation is a backend name,
-- false for "no route" (404), or a table naming only what matters
-- (backend, path, headers, status, body).
routes {
  { "example.com", "/healthz", { status = 200, body = "ok\\n" } },
  { "www.example.com", "/a?b=1", { status = 301, headers = { location = "https://example.com/a?b=1" } } },
}

-- A test function, for what one row cannot say.
test("a host goes to one backend whatever its case or port", function()
  local first = route("shop.example.com", "/")
  expect_route("SHOP.Example.com:8080", "/cart", first.backend)
end)

test("while its backend is down a host moves, and it comes back after", function()
  local home = route("shop.example.com", "/").backend
  down(home)
  local moved = route("shop.example.com", "/").backend
  ok(moved ~= home, "a down backend gets no requests")
  up(home)
  expect_route("shop.example.com", "/", home)
end)
`;

export interface InitResult {
  dir: string;
  written: string[];
}

/** the files `init` writes, by name */
export function starterFiles(dir: string): Record<string, string> {
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
  return {
    'config.lua': STARTER_CONFIG,
    'config_test.lua': STARTER_TESTS,
    '.luarc.json': JSON.stringify(luarc, null, 2) + '\n',
  };
}

/** write the starter files into `dir` (created if missing); throws LPX_CLI_EXISTS and writes nothing when any exists */
export function init(dir: string): InitResult {
  const abs = path.resolve(dir);
  if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
    throw new LpxError('LPX_CLI_EXISTS', `${dir}: is a file, not a folder; luaproxy init wants a folder to write config.lua into`);
  }
  const files = starterFiles(abs);
  const existing = Object.keys(files).filter((f) => fs.existsSync(path.join(abs, f)));
  if (existing.length) {
    throw new LpxError('LPX_CLI_EXISTS', `${existing.map((f) => path.join(dir, f)).join(', ')} already exist${existing.length === 1 ? 's' : ''}; luaproxy init never overwrites (move ${existing.length === 1 ? 'it' : 'them'} away, or pick another folder)`);
  }
  fs.mkdirSync(abs, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    // 'wx' fails if the file appeared since the check, so nothing is ever overwritten
    fs.writeFileSync(path.join(abs, name), text, { flag: 'wx' });
    written.push(path.join(dir, name));
  }
  return { dir: abs, written };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented starter config.lua, its routing tests and a .luarc.json for editors; never overwrites')
    .argument('[dir]', 'folder to write into (created if missing)', '.')
    .addHelpText('after', '\nExample:\n  $ luaproxy init myproxy && cd myproxy && luaproxy check config.lua && luaproxy test')
    .action((dir: string) => {
      const r = init(dir);
      const cd = path.resolve(dir) === process.cwd() ? '' : `cd ${dir} && `;
      process.stdout.write(`wrote ${r.written.join(', ')}\nnext: ${cd}luaproxy check config.lua && luaproxy test && luaproxy run config.lua\n`);
    });
}
