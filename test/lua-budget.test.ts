import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { isLpxError } from '../src/core/errors.js';

function script(body: string, time = 0.2) {
  return loadConfig('budget.lua', {
    source: `backends = { "http://127.0.0.1:9" }
script = { time = ${time} }
function route(host, path)
${body}
  return "127.0.0.1:9"
end`,
  });
}

function routeError(cfg: ReturnType<typeof script>) {
  try {
    cfg.route(Buffer.from('h'), Buffer.from('/'), null);
  } catch (e) {
    if (isLpxError(e)) return e;
    throw e;
  }
  throw new Error('route did not fail');
}

describe('every route() call is bounded', () => {
  it('stops an endless loop with file:line and a traceback, and the next call works', () => {
    const cfg = loadConfig('loop.lua', { source: `backends = { "http://127.0.0.1:9" }
function route(host, path)
  if path == "/loop" then
    while true do end
  end
  return "127.0.0.1:9"
end` });
    const t0 = performance.now();
    let err: unknown;
    try { cfg.route(Buffer.from('h'), Buffer.from('/loop'), null); } catch (e) { err = e; }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(isLpxError(err, 'LPX_ROUTE_BUDGET')).toBe(true);
    expect((err as Error).message).toMatch(/^loop\.lua:4: script exceeded its/);
    expect((err as { traceback: string }).traceback).toContain("loop.lua:4: in function 'route'");
    expect(cfg.route(Buffer.from('h'), Buffer.from('/'), null)).toMatchObject({ kind: 'backend', name: '127.0.0.1:9' });
  });

  it('cannot be escaped by a pcall inside the script', () => {
    const e = routeError(script('while true do pcall(function() while true do end end) end'));
    expect(e.code).toBe('LPX_ROUTE_BUDGET');
  });

  it('stops unbounded recursion', () => {
    const e = routeError(script('local function f(n) return f(n + 1) + 1 end f(1)'));
    expect(['LPX_ROUTE_BUDGET', 'LPX_ROUTE_ERROR']).toContain(e.code);
    expect(e.message).toMatch(/budget\.lua:\d+:/);
  });

  it('caps string growth by concatenation', () => {
    const e = routeError(script('local s = "x" for i = 1, 40 do s = s .. s end'));
    expect(e.message).toMatch(/string too large/);
  });

  it('caps string.rep before allocating', () => {
    const e = routeError(script('local s = string.rep("x", 1e9)'));
    expect(e.message).toMatch(/string too large/);
  });

  it('bounds the pattern matcher, where the instruction hook cannot reach', () => {
    const t0 = performance.now();
    // a generous wall clock, so this shows the step cap (the matcher also charges the call's time budget)
    const e = routeError(script('local s = string.rep("a", 300) s:find(string.rep("a*", 30) .. "b")', 5));
    expect(e.message).toMatch(/pattern too complex/);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('stops a script that grows tables without end, by its heap cap, before time or instructions run out', () => {
    const cfg = loadConfig('heap.lua', { source: `backends = { "http://127.0.0.1:9" }
script = { heap = 16777216, time = 20, instructions = 2000000000 }
function route(host, path)
  local t = {} for i = 1, 1e9 do t[i] = { i, i, i } end
end` });
    const e = routeError(cfg);
    expect(e.code).toBe('LPX_ROUTE_BUDGET');
    expect(e.message).toMatch(/^heap\.lua:4: script grew the heap by more than 16 MB in one call/);
  });

  it('stops a runaway script by the wall clock when instructions are cheap to count but slow to run', () => {
    const cfg = loadConfig('slow.lua', { source: `backends = { "http://127.0.0.1:9" }
script = { time = 0.1, instructions = 2000000000 }
function route(host, path)
  while true do end
end` });
    const t0 = performance.now();
    const e = routeError(cfg);
    expect(e.message).toMatch(/time budget of 100 ms/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
