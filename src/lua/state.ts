/**
 * A sandboxed Lua state: only the safe libraries, a text-only `load` with a size cap,
 * `os` reduced to time/date/difftime/clock, `print` sent to the logger, and a
 * `require` confined to allowed folders (resolved through realpath, so `..` and
 * symlinks cannot escape). No JS object is ever handed to Lua: everything the script
 * sees is a Lua value or a JS function pushed on purpose.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { lua, lauxlib, openers, to_luastring, type LuaState } from './vm.js';
import { installBudget, type Budget } from './budget.js';
import { errorText, errorMessage, displayPath } from './values.js';
import { truncate, MAX_MESSAGE } from '../core/errors.js';

export interface SandboxOptions {
  /** folders `require` may load from; the script's own folder comes first */
  requireRoots: string[];
  /** receives print() and proxy.log() output */
  log: (level: string, msg: string, where: string) => void;
  /** called with each file the state loads, for reload watching and content hashing */
  onFile?: (absPath: string, source: Buffer) => void;
  /** largest chunk `load` accepts, in bytes */
  maxLoadSize?: number;
  /** bytes to use for files instead of reading them (a copy of a loaded script gets exactly its bytes) */
  sources?: ReadonlyMap<string, Buffer>;
}

export interface Sandbox {
  L: LuaState;
  budget: Budget;
}

const MAX_LOAD_DEFAULT = 64 * 1024;
const req = createRequire(import.meta.url);

export function newSandbox(opts: SandboxOptions): Sandbox {
  const L = lauxlib.luaL_newstate();
  // A JS exception inside Lua (e.g. a JS stack overflow from deep metamethod
  // recursion) becomes an ordinary Lua error instead of unwinding through fengari.
  lua.lua_atnativeerror(L, (L1: LuaState) => {
    const e = lua.lua_touserdata(L1, -1) as unknown;
    const msg = e instanceof RangeError ? `JS stack overflow or range error (${e.message})` : `internal error: ${(e as Error)?.message ?? String(e)}`;
    lua.lua_pushstring(L1, to_luastring(msg));
    return 1;
  });
  // The hook goes in before any user code runs: coroutines copy it only at creation.
  const budget = installBudget(L);

  for (const [name, open] of Object.entries(openers)) {
    lauxlib.luaL_requiref(L, to_luastring(name === 'base' ? '_G' : name), open, 1);
    lua.lua_pop(L, 1);
  }
  // base: drop file access and bytecode; replace load and print
  for (const name of ['dofile', 'loadfile']) setGlobal(L, name, null);
  lua.lua_getglobal(L, to_luastring('string'));
  lua.lua_pushnil(L);
  lua.lua_setfield(L, -2, to_luastring('dump'));
  lua.lua_pop(L, 1);

  const maxLoad = opts.maxLoadSize ?? MAX_LOAD_DEFAULT;
  setGlobal(L, 'load', (L1: LuaState) => {
    if (lua.lua_type(L1, 1) !== lua.LUA_TSTRING) {
      return lauxlib.luaL_argerror(L1, 1, to_luastring('string expected (luaproxy allows load of source text only)'));
    }
    const src = lua.lua_tolstring(L1, 1) as Uint8Array;
    if (src.length > maxLoad) return lauxlib.luaL_error(L1, to_luastring(`load: chunk of ${src.length} bytes is over the ${maxLoad}-byte limit`));
    const name = lua.lua_type(L1, 2) === lua.LUA_TSTRING ? lua.lua_tolstring(L1, 2) : src;
    const hasEnv = !lua.lua_isnone(L1, 4);
    const status = lauxlib.luaL_loadbufferx(L1, src, src.length, name, to_luastring('t'));
    if (status !== lua.LUA_OK) {
      lua.lua_pushnil(L1);
      lua.lua_insert(L1, -2);
      return 2;
    }
    if (hasEnv) {
      lua.lua_pushvalue(L1, 4);
      if (!lua.lua_setupvalue(L1, -2, 1)) lua.lua_pop(L1, 1);
    }
    return 1;
  });

  setGlobal(L, 'print', (L1: LuaState) => {
    opts.log('info', joinArgs(L1, 1, '\t'), where(L1));
    return 0;
  });

  installOs(L);
  installRequire(L, opts);
  return { L, budget };
}

/** longest line print() or proxy.log() writes */
const MAX_LOG_LINE = 8192;

/** the arguments from `first` on as text (tostring semantics), joined and cut to MAX_LOG_LINE */
export function joinArgs(L: LuaState, first: number, sep: string): string {
  const n = lua.lua_gettop(L);
  let out = '';
  for (let i = first; i <= n && out.length <= MAX_LOG_LINE; i++) {
    out += (i > first ? sep : '') + errorText(lauxlib.luaL_tolstring(L, i));
    lua.lua_pop(L, 1);
  }
  return truncate(out, MAX_LOG_LINE);
}

/** luaproxy's message handler for ordinary script errors (an abort runs none): a bounded message and a traceback */
export function tracebackHandler(L1: LuaState): number {
  lauxlib.luaL_traceback(L1, L1, to_luastring(truncate(errorMessage(L1, 1), MAX_MESSAGE)), 1);
  return 1;
}

/** `file:line` of the Lua code that called the current JS function */
export function where(L: LuaState, level = 1): string {
  lauxlib.luaL_where(L, level);
  const w = errorText(lua.lua_tolstring(L, -1));
  lua.lua_pop(L, 1);
  return w.replace(/: $/, '');
}

export function setGlobal(L: LuaState, name: string, value: ((L: LuaState) => number) | null): void {
  if (value === null) lua.lua_pushnil(L);
  else lua.lua_pushcfunction(L, value);
  lua.lua_setglobal(L, to_luastring(name));
}

function installOs(L: LuaState): void {
  // os.time, os.date and os.difftime come from fengari's os library; the rest of it
  // (execute, exit, getenv, remove, rename, tmpname) is never exposed.
  const loslib = createOsFrom(L);
  lua.lua_newtable(L);
  for (const name of ['time', 'date', 'difftime']) {
    lua.lua_getfield(L, loslib, to_luastring(name));
    lua.lua_setfield(L, -2, to_luastring(name));
  }
  const t0 = process.hrtime.bigint();
  lua.lua_pushcfunction(L, (L1: LuaState) => {
    lua.lua_pushnumber(L1, Number(process.hrtime.bigint() - t0) / 1e9);
    return 1;
  });
  lua.lua_setfield(L, -2, to_luastring('clock'));
  lua.lua_setglobal(L, to_luastring('os'));
  lua.lua_pop(L, 1); // the full os table
}

function createOsFrom(L: LuaState): number {
  // fengari's luaopen_os builds the whole table; we keep it off the globals and copy three fields.
  lua.lua_pushcfunction(L, osOpener);
  lua.lua_call(L, 0, 1);
  return lua.lua_gettop(L);
}

const osOpener = (req('fengari/src/loslib.js') as { luaopen_os: (L: LuaState) => number }).luaopen_os;

const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function installRequire(L: LuaState, opts: SandboxOptions): void {
  const roots = opts.requireRoots.map((r) => {
    try { return fs.realpathSync(r); } catch { return path.resolve(r); }
  });
  const cache = new Map<string, number>(); // module name -> registry ref of its value
  const loading = new Set<string>();
  setGlobal(L, 'require', (L1: LuaState) => {
    const name = errorText(lauxlib.luaL_checklstring(L1, 1));
    const cached = cache.get(name);
    if (cached !== undefined) {
      lua.lua_rawgeti(L1, lua.LUA_REGISTRYINDEX, cached);
      return 1;
    }
    if (name === 'proxy') {
      lua.lua_getglobal(L1, to_luastring('proxy'));
      return 1;
    }
    if (!MODULE_NAME.test(name)) return lauxlib.luaL_error(L1, to_luastring(`require: bad module name '${name}' (expected names like "util" or "lib.hash")`));
    const rel = name.split('.').join(path.sep) + '.lua';
    let found: string | null = null;
    const tried: string[] = [];
    for (const [i, root] of roots.entries()) {
      // lua/meta holds editor type stubs (---@meta); loading one would shadow the real API
      if (i > 0 && name.startsWith('meta.')) continue;
      const candidate = path.join(root, rel);
      tried.push(displayPath(candidate));
      // a version held in memory (a fleet instance's files from etcd) is served from its map, never from the disk
      if (opts.sources?.has(candidate)) { found = candidate; break; }
      let real: string;
      try { real = fs.realpathSync(candidate); } catch { continue; }
      if (!roots.some((r) => real === r || real.startsWith(r + path.sep))) continue; // a symlink out of the allowed folders
      found = real;
      break;
    }
    if (!found) return lauxlib.luaL_error(L1, to_luastring(`module '${name}' not found (luaproxy looks only in the script's folder and lua/; tried ${tried.join(', ')})`));
    if (loading.has(name)) return lauxlib.luaL_error(L1, to_luastring(`require: module '${name}' requires itself (a loop)`));
    const src = opts.sources?.get(found) ?? fs.readFileSync(found);
    opts.onFile?.(found, src);
    const status = lauxlib.luaL_loadbufferx(L1, src, src.length, to_luastring('@' + displayPath(found)), to_luastring('t'));
    if (status !== lua.LUA_OK) return lua.lua_error(L1);
    loading.add(name);
    try {
      lua.lua_pushstring(L1, to_luastring(name));
      lua.lua_call(L1, 1, 1);
    } finally {
      loading.delete(name);
    }
    if (lua.lua_isnil(L1, -1)) {
      lua.lua_pop(L1, 1);
      lua.lua_pushboolean(L1, 1);
    }
    lua.lua_pushvalue(L1, -1);
    cache.set(name, lauxlib.luaL_ref(L1, lua.LUA_REGISTRYINDEX));
    return 1;
  });
}
