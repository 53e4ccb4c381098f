/**
 * No script code runs outside a budgeted call: route's result and the script's globals
 * are read raw (a metatable on them is never consulted), conversions of Lua values are
 * bounded by the entries they visit, and the messages luaproxy keeps are bounded.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { isLpxError } from '../src/core/errors.js';

function tryRoute(cfg: ReturnType<typeof loadConfig>, path = '/x') {
  try { return cfg.route(Buffer.from('h'), Buffer.from(path), null); } catch (e) { return e; }
}

describe('after a budgeted call has ended', () => {
  it('reads route\'s table result raw: an __index that loops or throws never runs, and the state stays usable', () => {
    for (const handler of ['function() while true do end end', 'function() error("from __index") end']) {
      const cfg = loadConfig('meta.lua', { source: `backends = { { name = "app", url = "http://127.0.0.1:9" } }
function route(host, path)
  if path == "/ok" then return "app" end
  return setmetatable({}, { __index = ${handler} })
end` });
      const t0 = performance.now();
      const e = tryRoute(cfg);
      expect(performance.now() - t0).toBeLessThan(500);
      expect(isLpxError(e, 'LPX_ROUTE_RETURN'), String(e)).toBe(true);
      // an error outside a protected call used to leave the state dead ("cannot do calls on non-normal thread")
      for (let i = 0; i < 3; i++) expect(tryRoute(cfg, '/ok')).toMatchObject({ kind: 'backend', name: 'app' });
    }
  });

  it('reads headers, status and backend raw too', () => {
    const cfg = loadConfig('meta.lua', { source: `backends = { { name = "app", url = "http://127.0.0.1:9" } }
function route(host, path)
  return { backend = "app", headers = setmetatable({ ["x-a"] = "1" }, { __index = function() while true do end end, __pairs = function() while true do end end }) }
end` });
    expect(tryRoute(cfg)).toMatchObject({ kind: 'backend', name: 'app', headers: [['x-a', '1']] });
  });

  it('loads a script that puts a looping metatable on _G, reading its globals raw', () => {
    const t0 = performance.now();
    const cfg = loadConfig('g.lua', { source: `backends = { { name = "app", url = "http://127.0.0.1:9" } }
function route(host, path) return "app" end
setmetatable(_G, { __index = function() while true do end end, __newindex = function() while true do end end })` });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(tryRoute(cfg)).toMatchObject({ kind: 'backend', name: 'app' });
  });

  it('refuses a settings table built as a wide, deep DAG quickly instead of expanding it k^depth times', () => {
    const t0 = performance.now();
    let err: unknown;
    try {
      loadConfig('dag.lua', { source: `backends = { "http://127.0.0.1:9" }
local t = { 1 }
for i = 1, 30 do t = { t, t, t, t } end
health = t
function route() return "127.0.0.1:9" end` });
    } catch (e) { err = e; }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(isLpxError(err), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/too large to read/);
  });

  it('keeps an error message of megabytes to a few KB', () => {
    const cfg = loadConfig('big.lua', { source: `backends = { "http://127.0.0.1:9" }
script = { time = 2 }
function route() error(string.rep("x", 4000000)) end` });
    const e = tryRoute(cfg) as { message: string; traceback?: string };
    expect(isLpxError(e)).toBe(true);
    expect(e.message.length).toBeLessThan(5000);
    expect(e.message).toMatch(/^big\.lua:3: x+\.\.\. \(\d+ more characters\)$/);
    expect((e.traceback ?? '').length).toBeLessThan(10_000);
  });

  // 6 MB a turn reaches the 64 MB heap cap in about ten turns, well inside the 2 s load
  // time even on a loaded machine (1 MB a turn ran out of time first under a load of 10)
  it('says what happened when a script blows a memory cap while it loads, with file:line', () => {
    let err: unknown;
    try {
      loadConfig('heap.lua', { source: `backends = { "http://127.0.0.1:9" }
local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 3000000) .. i end
function route() return "127.0.0.1:9" end` });
    } catch (e) { err = e; }
    expect(isLpxError(err), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/^heap\.lua:2: script (grew the heap by|created) more than \d+ MB/);
  });
});
