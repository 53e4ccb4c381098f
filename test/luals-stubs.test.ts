/**
 * The LuaLS stubs in lua/meta/ describe the real Lua API: every function of the
 * `proxy` module has a stub and no stub names one that does not exist; every setting
 * in defaults.ts has a stub field with its default; the fields of `req`, of the
 * backend views and of route()'s return tables are the ones the proxy really reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROXY_FUNCTIONS, LuaScript } from '../src/lua/script.js';
import { defaults } from '../src/config/defaults.js';
import { loadConfig, scriptLimits } from '../src/config/load.js';
import { BACKEND_OPTION_FIELDS } from '../src/config/backend-options.js';
import type { Decision } from '../src/core/decision.js';
import { decide } from '../src/routing/decide.js';
import { RouteCall, requestSource } from '../src/routing/call.js';
import type { Settings } from '../src/config/defaults.js';
import os from 'node:os';
import { runTests } from '../src/testing/runner.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const META = path.join(ROOT, 'lua/meta');
const read = (f: string) => fs.readFileSync(path.join(META, f), 'utf8');

interface Field { name: string; optional: boolean; type: string; doc: string }

/** `---@class X` followed by `---@field` lines */
function classes(src: string): Map<string, Field[]> {
  const out = new Map<string, Field[]>();
  let current: Field[] | null = null;
  for (const line of src.split('\n')) {
    const c = /^---@class\s+([\w.]+)/.exec(line);
    if (c) { current = []; out.set(c[1], current); continue; }
    const f = /^---@field\s+([A-Za-z_]\w*)(\??)\s+(\S+)\s*(.*)$/.exec(line);
    if (f && current) { current.push({ name: f[1], optional: f[2] === '?', type: f[3], doc: f[4] }); continue; }
    current = null;
  }
  return out;
}

/** globals declared as `---@type T` then `name = ...` */
function typedGlobals(src: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^---@type\s+(\S+)\n([A-Za-z_]\w*)\s*=/gm;
  for (const m of src.matchAll(re)) out.set(m[2], m[1]);
  return out;
}

function luaLiteral(v: unknown): string {
  if (v === null) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `{ ${v.map(luaLiteral).join(', ')} }`;
  return String(v);
}

function typeFits(def: unknown, type: string): boolean {
  if (typeof def === 'number') return /^(number|integer)$/.test(type);
  if (typeof def === 'boolean') return type === 'boolean';
  if (typeof def === 'string' || def === null) return /(^|\|)string($|\|)/.test(type) || /^luaproxy\.\w+$/.test(type);
  if (Array.isArray(def)) return typeof def[0] === 'number' ? /(integer|number)\[\]/.test(type) : /string\[\]/.test(type);
  return false;
}

/** load a script with one backend and call route once with a request that has a query */
function routeOnce(body: string): Decision {
  const src = `listen = "127.0.0.1:0"\nbackends = { { name = "app1", url = "http://127.0.0.1:9" } }\nfunction route(host, path, req)\n${body}\nend\n`;
  const cfg = loadConfig(path.join(ROOT, 'stub-probe.lua'), { source: src });
  // over TLS, so every field (tls_sni too) has a value
  return decide(cfg, new RouteCall(requestSource('POST', '/p?x=1', 'a.example', [['x-y', 'z']]), '127.0.0.1', { scheme: 'https', sni: 'a.example' }));
}

function respondBody(outcome: ReturnType<typeof routeOnce>): string {
  if (outcome.kind !== 'respond') throw new Error(`expected a direct answer, got ${JSON.stringify(outcome)}`);
  return outcome.body?.toString() ?? '';
}

describe('LuaLS stubs in lua/meta', () => {
  const proxyStub = read('proxy.lua');
  const mainStub = read('luaproxy.lua');
  const allClasses = new Map([...classes(mainStub), ...classes(proxyStub)]);

  it('every file starts with ---@meta and is valid Lua', () => {
    const files = fs.readdirSync(META).filter((f) => f.endsWith('.lua'));
    expect(files).toEqual(expect.arrayContaining(['luaproxy.lua', 'proxy.lua', 'sandbox.lua', 'luaproxy-test.lua']));
    const limits = scriptLimits(defaults.script as Settings['script']);
    for (const f of files) {
      const src = read(f);
      expect(src.startsWith('---@meta'), `${f} starts with ---@meta`).toBe(true);
      expect(() => LuaScript.load({ file: path.join(META, f), loadLimits: limits.load, routeLimits: limits.route })).not.toThrow();
    }
  });

  it('the proxy stub names exactly the functions the proxy module exposes', () => {
    const stubbed = [...proxyStub.matchAll(/^function proxy\.(\w+)\s*\(/gm)].map((m) => m[1]).sort();
    expect(stubbed).toEqual([...PROXY_FUNCTIONS].sort());
    // and PROXY_FUNCTIONS is what a script really sees in its `proxy` table
    const seen = respondBody(routeOnce('local k = {} for name in pairs(proxy) do k[#k + 1] = name end table.sort(k) return { status = 200, body = table.concat(k, ",") }'));
    expect(seen.split(',')).toEqual([...PROXY_FUNCTIONS].sort());
    expect(proxyStub).toMatch(/^---@meta proxy$/m); // so `require "proxy"` resolves to it
    expect(proxyStub).toMatch(/^return proxy\s*$/m);
  });

  it('every setting table and key in defaults.ts has a stub field with its default, and no stub field is made up', () => {
    const globals = typedGlobals(mainStub);
    const problems: string[] = [];
    for (const [table, fields] of Object.entries(defaults) as Array<[string, Record<string, unknown>]>) {
      const cls = globals.get(table);
      if (!cls) { problems.push(`missing in lua/meta/luaproxy.lua: ---@type luaproxy.X\\n${table} = {}`); continue; }
      const stubFields = allClasses.get(cls.replace(/\?$/, ''));
      if (!stubFields) { problems.push(`${table}: class ${cls} is not defined`); continue; }
      for (const [key, def] of Object.entries(fields)) {
        const f = stubFields.find((x) => x.name === key);
        const want = luaLiteral(def);
        if (!f) { problems.push(`${table}.${key}: missing; add ---@field ${key}? <type> <doc>. Default \`${want}\`.`); continue; }
        if (!f.optional) problems.push(`${table}.${key}: settings fields are optional; write ${key}?`);
        if (!typeFits(def, f.type)) problems.push(`${table}.${key}: stub type ${f.type} does not fit the default ${want}`);
        const m = /Default `(.+?)`\.?$/.exec(f.doc);
        if (!m) problems.push(`${table}.${key}: the doc must end with Default \`${want}\`.`);
        else if (m[1] !== want) problems.push(`${table}.${key}: stub says default ${m[1]}, defaults.ts says ${want}`);
      }
      for (const f of stubFields) if (!(f.name in fields)) problems.push(`${table}.${f.name}: in the stub but not a setting`);
    }
    expect(problems).toEqual([]);
  });

  it('the top-level globals listen, backends and route are declared', () => {
    const globals = typedGlobals(mainStub);
    expect(globals.get('listen')).toBe('integer|string|(integer|string|luaproxy.Listener)[]');
    // the fields a listener table may have (src/config/listeners.ts) and of the tls table (src/config/tls.ts)
    expect(allClasses.get('luaproxy.Listener')!.map((f) => f.name).sort()).toEqual(['address', 'http2', 'proxy_protocol', 'tls']);
    expect(allClasses.get('luaproxy.Tls')!.map((f) => f.name).sort()).toEqual(['certificates', 'default', 'min_version']);
    expect(globals.get('backends')).toMatch(/luaproxy\.Backend/);
    expect(mainStub).toMatch(/^function route\(host, path, req\) end$/m);
    // the fields a backend table may have (src/config/load.ts readBackends, src/config/backend-options.ts)
    expect(allClasses.get('luaproxy.Backend')!.map((f) => f.name).sort()).toEqual(['name', 'url', 'weight', ...BACKEND_OPTION_FIELDS].sort());
  });

  it('the stub file itself is a config the real loader accepts (its globals have the right shapes)', () => {
    const cfg = loadConfig(path.join(META, 'luaproxy.lua'));
    expect(cfg.listen.port).toBe(8080);
    expect(cfg.settings).toEqual(defaults);
  });

  it('every field of luaproxy.Request is one that req really has', () => {
    const fields = allClasses.get('luaproxy.Request')!.map((f) => f.name);
    expect(fields.length).toBeGreaterThan(0);
    const probe = fields.map((f) => `type(req.${f})`).join(' .. "," .. ');
    const types = respondBody(routeOnce(`return { status = 200, body = ${probe} .. "," .. type(req.no_such_field) }`)).split(',');
    const expected = allClasses.get('luaproxy.Request')!.map((f) => (f.type.startsWith('table') ? 'table' : 'string'));
    expect(types).toEqual([...expected, 'nil']);
  });

  it('luaproxy.BackendView names exactly the fields of proxy.backends() entries', () => {
    const stub = allClasses.get('luaproxy.BackendView')!;
    const real = respondBody(routeOnce('local b = proxy.backends()[1] local k = {} for name in pairs(b) do k[#k + 1] = name end table.sort(k) return { status = 200, body = table.concat(k, ",") }')).split(',');
    // a field that is nil for a fresh backend (last_error, ...) is invisible to pairs(): the stub must mark it nullable
    const absent = stub.filter((f) => !real.includes(f.name));
    expect(absent.filter((f) => !f.type.endsWith('?')).map((f) => f.name), 'stub fields the real view lacks').toEqual([]);
    expect(real.filter((k) => !stub.some((f) => f.name === k)), 'real fields the stub lacks').toEqual([]);
  });

  it('the fields of luaproxy.Forward and luaproxy.Respond are the ones route() may return', () => {
    expect(allClasses.get('luaproxy.Forward')!.map((f) => f.name)).toEqual(['backend', 'path', 'headers']);
    expect(allClasses.get('luaproxy.Respond')!.map((f) => f.name)).toEqual(['status', 'headers', 'body']);
    const fwd = routeOnce('return { backend = "app1", path = "/new", headers = { ["x-a"] = "1", cookie = false } }');
    expect(fwd).toMatchObject({ kind: 'backend', name: 'app1', path: '/new', headers: [['x-a', '1'], ['cookie', null]] });
    const res = routeOnce('return { status = 301, headers = { location = "/x" }, body = "moved" }');
    expect(res).toMatchObject({ kind: 'respond', status: 301, headers: [['location', '/x']] });
    expect(respondBody(res)).toBe('moved');
    expect(mainStub).toMatch(/^---@alias luaproxy\.RouteResult string\|luaproxy\.Forward\|luaproxy\.Respond\|nil$/m);
  });

  it('the test-API stub names exactly the globals a routing-test file gets', () => {
    const testStub = read('luaproxy-test.lua');
    const stubbed = [...testStub.matchAll(/^function (\w+)\s*\(/gm)].map((m) => m[1]).sort();
    // ask the real runner: a test file that reports the globals it sees beyond a config script's own
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-stubs-'));
    try {
      fs.writeFileSync(path.join(dir, 'x.lua'), 'backends = { { name = "a", url = "http://127.0.0.1:9" } }\nfunction route() return "a" end\n');
      fs.writeFileSync(path.join(dir, 'x_test.lua'), [
        'local base = {}',
        'for _, n in ipairs({ "assert", "error", "getmetatable", "ipairs", "load", "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "require", "collectgarbage" }) do base[n] = true end',
        'local fns, values = {}, {}',
        'for k, v in pairs(_G) do',
        '  if type(v) == "function" and not base[k] then fns[#fns + 1] = k',
        '  elseif type(v) ~= "table" and type(v) ~= "function" and k ~= "_VERSION" then values[#values + 1] = k end',
        'end',
        'table.sort(fns) table.sort(values)',
        'test("globals", function() error("FNS=" .. table.concat(fns, ",") .. ";VALUES=" .. table.concat(values, ",") .. ";") end)',
      ].join('\n'));
      const r = runTests([path.join(dir, 'x_test.lua')]);
      const msg = r.files[0].tests[0].failure?.message ?? '';
      const fns = /FNS=([^;]*);/.exec(msg)?.[1].split(',').filter(Boolean);
      const values = /VALUES=([^;]*);/.exec(msg)?.[1].split(',').filter(Boolean);
      expect(fns, msg).toEqual(stubbed);
      for (const v of values ?? []) expect(testStub, `value global ${v}`).toMatch(new RegExp(`^${v} = `, 'm'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('examples/.luarc.json points the language server at lua/meta', () => {
    const rc = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/.luarc.json'), 'utf8')) as { workspace: { library: string[] } };
    const libs = rc.workspace.library.map((l) => path.resolve(ROOT, 'examples', l));
    expect(libs).toContain(META);
  });
});
