import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';

/** run `expr` inside route() and return what it produced as the 'body' of a direct response */
function evalInRoute(expr: string, file = 'sandbox.lua', dir?: string): string {
  const source = `function route(host, path) return { status = 200, body = tostring(${expr}) } end`;
  const f = dir ? path.join(dir, file) : file;
  if (dir) fs.writeFileSync(f, source);
  const cfg = loadConfig(f, dir ? {} : { source });
  const out = cfg.route(Buffer.from('h'), Buffer.from('/'), null);
  if (out.kind !== 'respond') throw new Error('expected a direct response');
  return out.body!.toString();
}

describe('the Lua sandbox', () => {
  it('has no io, package, debug, dofile, loadfile or string.dump', () => {
    for (const g of ['io', 'package', 'debug', 'dofile', 'loadfile', 'string.dump', 'coroutine']) {
      expect(evalInRoute(g), g).toBe('nil');
    }
  });

  it('gives os only time, date, difftime and clock', () => {
    expect(evalInRoute('os.execute')).toBe('nil');
    expect(evalInRoute('os.getenv')).toBe('nil');
    expect(evalInRoute('os.exit')).toBe('nil');
    expect(evalInRoute('os.remove')).toBe('nil');
    expect(evalInRoute('type(os.time())')).toBe('number');
    expect(evalInRoute('type(os.clock())')).toBe('number');
    expect(evalInRoute('type(os.date("%Y"))')).toBe('string');
  });

  it('lets load run source text but refuses binary chunks', () => {
    expect(evalInRoute('load("return 1 + 2")()')).toBe('3');
    expect(evalInRoute('select(2, load("\\27Lua"))')).toMatch(/attempt to load a binary chunk/);
  });

  it('refuses load of a huge chunk (the parser does not run the budget hook)', () => {
    expect(() => evalInRoute('load(string.rep(" ", 100000))')).toThrow(/over the 65536-byte limit/);
  });

  it('does not let a script reach Node through any global', () => {
    // the classic escape through fengari-interop objects: nothing JS is exposed at all
    expect(evalInRoute('(function() for k, v in pairs(_G) do if type(v) == "userdata" then return k end end return "none" end)()')).toBe('none');
  });

  it('confines require to the script folder and lua/, through realpath', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-sandbox-'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-outside-'));
    fs.writeFileSync(path.join(dir, 'helper.lua'), 'return { answer = 42 }');
    fs.writeFileSync(path.join(outside, 'secret.lua'), 'return { answer = "leaked" }');
    fs.symlinkSync(path.join(outside, 'secret.lua'), path.join(dir, 'link.lua'));
    expect(evalInRoute('require("helper").answer', 'a.lua', dir)).toBe('42');
    expect(() => evalInRoute('require("link").answer', 'b.lua', dir)).toThrow(/module 'link' not found/);
    expect(() => evalInRoute('require("../x").answer', 'c.lua', dir)).toThrow(/bad module name/);
  });

  it('does not load the editor stubs in lua/meta, which would shadow the real proxy module', () => {
    expect(() => evalInRoute('require("meta.proxy")')).toThrow(/module 'meta.proxy' not found/);
  });

  it('sends print to the log with file:line', () => {
    const lines: string[] = [];
    const cfg = loadConfig('p.lua', { source: 'function route(h, p)\n  print("hello", 1)\n  return nil\nend', log: (level, msg, where) => lines.push(`${level} ${where} ${msg}`) });
    cfg.route(Buffer.from('h'), Buffer.from('/'), null);
    expect(lines).toEqual(['info p.lua:2 hello\t1']);
  });

  it('turns a JS stack overflow from metamethod recursion into a Lua error, and the state stays usable', () => {
    const cfg = loadConfig('deep.lua', { source: `
local mt = {}
mt.__index = function(t, k) return setmetatable({}, mt)[k] end
function route(h, p)
  if p == "/deep" then return setmetatable({}, mt).x end
  return { status = 200, body = "fine" }
end` });
    expect(() => cfg.route(Buffer.from('h'), Buffer.from('/deep'), null)).toThrow();
    expect(cfg.route(Buffer.from('h'), Buffer.from('/'), null)).toMatchObject({ kind: 'respond', status: 200 });
  });
});
