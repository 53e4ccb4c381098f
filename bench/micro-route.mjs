#!/usr/bin/env node
// The per-request Lua call on its own: Config.route(host, path, req) exactly as the
// request path makes it (host already normalized to bytes, path as bytes, req = the
// lazy request view), for a few realistic scripts; then the whole routing step the proxy
// runs per request (src/routing/decide.ts: prepare the RouteCall, then the Lua call).
// Needs dist/ (npm run build). --dist compares another build (e.g. a worktree of main).
//
//   node bench/micro-route.mjs [--iterations 200000] [--rounds 5] [--dist path/to/dist]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const DIST = argv.includes('--dist') ? path.resolve(argv[argv.indexOf('--dist') + 1]) : path.join(ROOT, 'dist');
const { loadConfig } = await import(path.join(DIST, 'config/load.js'));
const routing = fs.existsSync(path.join(DIST, 'routing/decide.js'))
  ? { ...(await import(path.join(DIST, 'routing/decide.js'))), ...(await import(path.join(DIST, 'routing/call.js'))) }
  : null;
const opt = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? Number(argv[i + 1]) : d; };
const N = opt('iterations', 200_000);
const ROUNDS = opt('rounds', 5);

const BACKENDS = `backends = {
  { name = "app1", url = "http://127.0.0.1:9001" }, { name = "app2", url = "http://127.0.0.1:9002" },
  { name = "app3", url = "http://127.0.0.1:9003" }, { name = "app4", url = "http://127.0.0.1:9004" },
}
`;
const SCRIPTS = {
  'hash(host)': `function route(host, path) return proxy.hash(host) end`,
  'realistic: rules + hash(host)': `
local RELOAD = "^/user/[^/]+/webapps/([^/]+)/reload$"
function route(host, path, req)
  if path:sub(1, 7) == "/admin/" then return { status = 403, body = "forbidden\\n" } end
  local d = path:find("/webapps/", 1, true) and path:match(RELOAD)
  if d then return proxy.hash(d:lower()) end
  return proxy.hash(host)
end`,
  'rewrite table': `
local rewrites = { ["/old"] = "/new", ["/blog"] = "/posts" }
function route(host, path)
  local to = rewrites[path]
  if to then return { backend = proxy.hash(host), path = to } end
  return { backend = proxy.hash(host), path = "/v2" .. path }
end`,
  'req fields (method, query)': `
function route(host, path, req)
  if req.method == "POST" then return "app1" end
  if req.query then return proxy.hash(host .. "?") end
  return proxy.hash(host)
end`,
  'req.headers table': `
function route(host, path, req)
  local h = req.headers
  if h["x-canary"] then return "app2" end
  return proxy.hash(host)
end`,
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-micro-'));
const hosts = Array.from({ length: 1000 }, (_, i) => Buffer.from(`app${i}.example.com`, 'latin1'));
const paths = [Buffer.from('/'), Buffer.from('/index.html'), Buffer.from('/blog'), Buffer.from('/user/fred/webapps/x.example.com/reload')];
// the request view, with the fields of both the current (query, client) and older (socket) builds
const req = {
  method: 'GET', url: '/index.html?a=1', query: 'a=1', client: '127.0.0.1',
  headers: { host: 'app1.example.com', 'user-agent': 'wrk', accept: '*/*', 'accept-encoding': 'gzip', cookie: 'a=b; c=d' },
  socket: { remoteAddress: '127.0.0.1' },
};
// the same requests as heads, for the whole routing step
const heads = Array.from({ length: 1000 }, (_, i) => ({
  method: 'GET', target: ['/', '/index.html?a=1', '/blog', '/user/fred/webapps/x.example.com/reload'][i & 3], host: `App${i}.example.com`,
  headers: ['Host', `App${i}.example.com`, 'User-Agent', 'wrk', 'Accept', '*/*'],
}));

console.log(`route() cost per call, median of ${ROUNDS} rounds x ${N} calls; Node ${process.version}, ${os.cpus()[0]?.model}, load ${os.loadavg()[0].toFixed(2)}`);
const rows = [];
for (const [name, body] of Object.entries(SCRIPTS)) {
  const file = path.join(dir, 'config.lua');
  fs.writeFileSync(file, `listen = "127.0.0.1:0"\n${BACKENDS}${body}\n`);
  const cfg = loadConfig(file);
  for (let i = 0; i < 20_000; i++) cfg.route(hosts[i % 1000], paths[i & 3], req);
  const per = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) cfg.route(hosts[i % 1000], paths[i & 3], req);
    per.push(Number(process.hrtime.bigint() - t0) / N);
  }
  per.sort((a, b) => a - b);
  const med = per[per.length >> 1];
  rows.push({ name, ns: med });
  console.log(`${name.padEnd(34)} ${(med / 1000).toFixed(2)} µs/call  (min ${(per[0] / 1000).toFixed(2)}, max ${(per[per.length - 1] / 1000).toFixed(2)})`);
  if (routing) {
    const step = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) routing.decide(cfg, new routing.RouteCall(heads[i % 1000], '127.0.0.1'));
      step.push(Number(process.hrtime.bigint() - t0) / N);
    }
    step.sort((a, b) => a - b);
    console.log(`${'  whole routing step (decide)'.padEnd(34)} ${(step[step.length >> 1] / 1000).toFixed(2)} µs/call`);
  }
}
fs.rmSync(dir, { recursive: true, force: true });
