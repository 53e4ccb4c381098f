/**
 * A generator of hostile scripts: seeded, nested combinations of pcall, xpcall, error,
 * error objects with metatables, metamethods reached from inside the VM's library
 * functions (__index, __eq, __lt, __concat, __len, __tostring through tostring and
 * string.format), table.sort comparators, gsub callbacks, load of text, and endless
 * loops. Whatever a case does, route() must end within the deadline plus a margin,
 * either with a route result or with a 500-class error, and the next call must be served.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { isLpxError } from '../src/core/errors.js';

const CASES = 300;
const DEADLINE_MS = 20;
const MARGIN_MS = 400;

/** mulberry32: the same cases on every run */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(rand: () => number) {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  let bracket = 0;
  const leaf = (): string => pick([
    'while true do end',
    'for i = 1, 2^30 do end',
    'error("boom")',
    'error(setmetatable({}, { __tostring = function() while true do end end, __gc = function() while true do end end }))',
    'error(setmetatable({}, { __index = function() while true do end end }))',
    'local s = string.rep("", 2^31 - 1)',
    'table.move({}, 1, 2^31 - 2, 1)',
    'local s = string.rep("(", 100000) s:find("%b()")',
    'local t = {} while true do t[#t + 1] = "x" end',
    'local x = 1',
  ]);
  const stmt = (depth: number): string => {
    if (depth <= 0) return leaf();
    const inner = () => stmt(depth - 1);
    const mt = (event: string) => `setmetatable({}, { ${event} = function(a, b) ${inner()} return true end })`;
    return pick<() => string>([
      () => leaf(),
      () => `pcall(function() ${inner()} end)`,
      () => `xpcall(function() ${inner()} end, function(e) ${inner()} return e end)`,
      () => `while true do pcall(function() ${inner()} end) end`,
      () => `while true do xpcall(function() ${inner()} end, function(e) ${inner()} end) end`,
      () => `local v = ${mt('__index')}.field`,
      () => `local a, b = ${mt('__eq')}, ${mt('__eq')} local v = getmetatable(a) == getmetatable(b) or a == b`,
      () => `local a = ${mt('__lt')} local v = a < a`,
      () => `local v = ${mt('__concat')} .. "x"`,
      () => `local v = #${mt('__len')}`,
      () => `local v = tostring(${mt('__tostring')})`,
      () => `local v = string.format("%s", ${mt('__tostring')})`,
      () => `table.sort({ 5, 3, 1, 4, 2 }, function(x, y) ${inner()} return x < y end)`,
      () => `string.gsub("abcdef", "%w", function(c) ${inner()} end)`,
      () => { const eq = '='.repeat(++bracket); return `local f = load([${eq}[ ${inner()} ]${eq}]) if f then f() end`; },
      () => `${inner()} ${inner()}`,
    ])();
  };
  return stmt;
}

describe('hostile scripts from a seeded generator', () => {
  it(`end within the deadline, answer 500 or a route, and leave the state serving (${CASES} cases)`, () => {
    const rand = prng(20261201);
    const stmt = generator(rand);
    const slow: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const body = stmt(1 + Math.floor(rand() * 3));
      const cfg = loadConfig(`gen${i}.lua`, {
        source: `backends = { "http://127.0.0.1:9" }
script = { time = ${DEADLINE_MS / 1000}, instructions = 1000000 }
function route(host, path)
  if path == "/ok" then return "127.0.0.1:9" end
  ${body}
  return "127.0.0.1:9"
end`,
      });
      const t0 = performance.now();
      try {
        cfg.route(Buffer.from('h'), Buffer.from('/x'), null);
      } catch (e) {
        if (!isLpxError(e)) throw new Error(`case ${i} threw a non-luaproxy error: ${String(e)}\n${body}`);
        expect(e.status, body).toBe(500);
        expect(e.message.length, body).toBeLessThan(10_000);
      }
      const ms = performance.now() - t0;
      if (ms > DEADLINE_MS + MARGIN_MS) slow.push(`case ${i} took ${ms.toFixed(0)} ms:\n${body}`);
      expect(cfg.route(Buffer.from('h'), Buffer.from('/ok'), null), body).toMatchObject({ kind: 'backend' });
    }
    expect(slow).toEqual([]);
  }, 120_000);
});
