/**
 * Library functions that loop inside JS run no VM instruction, so the count hook never
 * fires in them; each is charged to the call's budget (or capped) instead. Before,
 * each of these froze the process with nothing logged.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { isLpxError } from '../src/core/errors.js';

const DEADLINE_MS = 50;
const MARGIN_MS = 400;

function config(body: string, settings = '', time = DEADLINE_MS / 1000) {
  return loadConfig('work.lua', {
    source: `backends = { "http://127.0.0.1:9" }
script = { time = ${time} ${settings} }
function route(host, path)
  if path == "/ok" then return "127.0.0.1:9" end
  ${body}
  return "127.0.0.1:9"
end`,
  });
}

function fails(body: string, settings = '', time?: number) {
  const cfg = config(body, settings, time);
  const t0 = performance.now();
  let err: unknown;
  try { cfg.route(Buffer.from('h'), Buffer.from('/x'), null); } catch (e) { err = e; }
  const ms = performance.now() - t0;
  expect(isLpxError(err), `${body}: ${String(err)}`).toBe(true);
  expect(ms, body).toBeLessThan((time ?? DEADLINE_MS / 1000) * 1000 + MARGIN_MS);
  expect(cfg.route(Buffer.from('h'), Buffer.from('/ok'), null)).toMatchObject({ kind: 'backend' });
  return err as { code: string; message: string };
}

describe('library work inside one route() call', () => {
  const bombs: Array<[string, string]> = [
    ['string.rep of a short string, repeatedly', 'for i = 1, 1000 do local s = string.rep("x", 3000000) end'],
    ['table.move over 2^31 slots', 'table.move({}, 1, 2^31 - 2, 1)'],
    ['table.insert at the front of a long table, repeatedly', 'local t = {} for i = 1, 200000 do t[i] = i end for i = 1, 100 do table.insert(t, 1, 0) end'],
    ['table.concat of a long table, repeatedly', 'local t = {} for i = 1, 100000 do t[i] = "x" end for i = 1, 1000 do table.concat(t) end'],
    ['table.unpack of a long range', 'local t = {} for i = 1, 1000 do select("#", table.unpack(t, 1, 900000)) end'],
    ['string.byte over a long string into tables', 'local s = string.rep("x", 500000) local k = {} for i = 1, 1000 do k[i] = { s:byte(1, -1) } end'],
    ['os.date with a format of 100k directives', 'os.date(string.rep("%c", 100000))'],
    ['string.format with a long format, repeatedly', 'local f = string.rep("x", 1000000) for i = 1, 1000 do string.format(f) end'],
    ['%b() over a long run of (', 'local s = string.rep("(", 3000000) for i = 1, 100 do s:find("%b()") end'],
    ['a character class of megabytes', 'local s = string.rep("a", 1000000) .. "b" for i = 1, 100 do s:find("[" .. string.rep("c", 3000000) .. "b]") end'],
    ['a plain find of a 100 KB needle in a 4 MB haystack, repeatedly', 'local h = string.rep("a", 4000000) local n = string.rep("a", 100000) .. "b" for i = 1, 1000 do h:find(n, 1, true) end'],
    ['utf8.len over a long string, repeatedly', 'local s = string.rep("\\u{e9}", 1000000) for i = 1, 1000 do utf8.len(s) end'],
    ['comparing long equal strings, repeatedly', 'local a, b = string.rep("x", 3000000), string.rep("x", 3000000) for i = 1, 100000 do local _ = a == b end'],
  ];
  for (const [what, body] of bombs) {
    it(`is bounded: ${what}`, () => {
      expect(fails(body).code).toMatch(/^LPX_ROUTE_(BUDGET|ERROR)$/);
    });
  }

  it('caps the string bytes one call creates, whoever builds them (a hundred 3 MB strings), with file:line', () => {
    const e = fails('local t = {} for i = 1, 100 do t[i] = string.rep("x", 3000000) .. i end', ', instructions = 2000000000', 5);
    expect(e.code).toBe('LPX_ROUTE_BUDGET');
    expect(e.message).toMatch(/^work\.lua:5: script created more than 64 MB of strings in one call/);
  });

  it('builds string.rep of an empty string 2^31 times at once, without looping', () => {
    const cfg = config('do return { status = 200, body = tostring(#string.rep("", 2^31 - 1)) } end');
    const out = cfg.route(Buffer.from('h'), Buffer.from('/x'), null);
    expect(out.kind === 'respond' && out.body?.toString()).toBe('0');
  });

  it('finds a plain needle in linear time (Buffer#indexOf, not the naive O(n*m) search)', () => {
    const cfg = config('local h = string.rep("a", 2000000) .. "b" local n = string.rep("a", 50000) .. "b" do return { status = 200, body = tostring(h:find(n, 1, true)) } end', ', instructions = 100000000', 5);
    const out = cfg.route(Buffer.from('h'), Buffer.from('/x'), null);
    expect(out.kind === 'respond' && out.body?.toString()).toBe(String(2000000 - 50000 + 1));
  });
});
