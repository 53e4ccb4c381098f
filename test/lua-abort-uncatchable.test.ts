/**
 * An abort (budget spent) cannot be caught by the script and runs no script code after
 * it: no xpcall message handler, no __tostring/__gc of an error object, no pcall that
 * swallows it. Before this was fixed, an xpcall handler that looped froze the process:
 * fengari ran the handler inside the count hook, with hooks off.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { isLpxError } from '../src/core/errors.js';

const DEADLINE_MS = 50;
const MARGIN_MS = 400;

function config(body: string) {
  return loadConfig('abort.lua', {
    source: `backends = { "http://127.0.0.1:9" }
script = { time = ${DEADLINE_MS / 1000} }
handled = 0
function route(host, path)
  if path == "/handled" then return { status = 200, body = tostring(handled) } end
  if path == "/ok" then return "127.0.0.1:9" end
${body}
  return "127.0.0.1:9"
end`,
  });
}

function routeOf(cfg: ReturnType<typeof config>, path: string) {
  return cfg.route(Buffer.from('h'), Buffer.from(path), null);
}

function abortOf(cfg: ReturnType<typeof config>) {
  const t0 = performance.now();
  let err: unknown;
  try { routeOf(cfg, '/x'); } catch (e) { err = e; }
  const ms = performance.now() - t0;
  expect(isLpxError(err), String(err)).toBe(true);
  return { err: err as { code: string; message: string; traceback?: string }, ms };
}

describe('an aborted route() call', () => {
  const cases: Array<[string, string]> = [
    ['an xpcall whose handler loops', 'xpcall(function() while true do end end, function() while true do end end)'],
    ['a loop of xpcalls whose handler loops', 'while true do xpcall(function() error("x") end, function() while true do end end) end'],
    ['a handler that loops on pcall(error)', 'xpcall(function() while true do end end, function() while true do pcall(error) end end)'],
    ['a pcall in a loop around a loop', 'while true do pcall(function() while true do end end) end'],
    ['an error object whose __tostring loops', 'while true do pcall(error, setmetatable({}, { __tostring = function() while true do end end })) end'],
    ['a handler that calls tostring on an error object that loops', 'xpcall(function() while true do end end, function(e) return tostring(setmetatable({}, { __tostring = function() while true do end end })) end)'],
  ];
  for (const [what, body] of cases) {
    it(`ends within its deadline for ${what}, with file:line, and the next call is served`, () => {
      const cfg = config(body);
      const { err, ms } = abortOf(cfg);
      expect(err.code).toBe('LPX_ROUTE_BUDGET');
      expect(err.message).toMatch(/^abort\.lua:\d+: script exceeded/);
      expect(ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
      expect(routeOf(cfg, '/ok')).toMatchObject({ kind: 'backend' });
    });
  }

  it('runs no message handler of the script once the budget is spent', () => {
    const cfg = config('xpcall(function() while true do end end, function(e) handled = handled + 1 return e end)');
    abortOf(cfg);
    const out = routeOf(cfg, '/handled');
    expect(out.kind === 'respond' && out.body?.toString()).toBe('0');
  });

  it('lets a pcall inside the script catch ordinary errors as before', () => {
    const cfg = config('local ok, e = pcall(error, "boom") if ok or not e:match("boom") then error("pcall broke") end');
    expect(routeOf(cfg, '/x')).toMatchObject({ kind: 'backend' });
  });

  it('keeps a traceback through the script for an abort', () => {
    const cfg = config('local function spin() while true do end end\n  spin()');
    const { err } = abortOf(cfg);
    expect(err.traceback).toMatch(/abort\.lua:\d+: in (local|function) 'spin'/);
  });
});
