/**
 * The Lua state a routing test file runs in: a sibling of the script's own state, with
 * the same sandbox, plus the functions the test runner defines (route, expect_route,
 * test, ...). The runner stays plain TypeScript: its functions take and return plain
 * values, Lua functions reach it as LuaCallable handles, and a thrown Error becomes a
 * Lua error blamed on the test file's calling line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lua, lauxlib, to_luastring, type LuaState } from './vm.js';
import { newSandbox, where, tracebackHandler } from './state.js';
import type { Budget, BudgetLimits } from './budget.js';
import { errorMessage, displayPath, toPlain, pushPlain, functionWhere, rawGlobal, rawSetGlobal, type LuaPlain } from './values.js';
import { LpxError, truncate, MAX_MESSAGE } from '../core/errors.js';

/** a Lua function handed to a host function, callable later */
export class LuaCallable {
  constructor(readonly ref: number, readonly where: string) {}
}

export type HostArg = LuaPlain | LuaCallable | undefined;

/** what a host function gets: its arguments and the caller's `file:line` */
export type HostFunction = (args: HostArg[], where: string) => unknown;

export interface CallFailure {
  /** `file:line: message` as Lua reports it */
  message: string;
  /** the stack through Lua code, fengari's own frames left out */
  traceback?: string;
}

export interface TestStateOptions {
  file: string;
  libDir?: string;
  log?: (level: string, msg: string, where: string) => void;
  limits: BudgetLimits;
}

export class TestState {
  readonly file: string;
  private readonly L: LuaState;
  private readonly budget: Budget;
  private readonly msghRef: number;
  private readonly limits: BudgetLimits;

  constructor(opts: TestStateOptions) {
    this.file = path.resolve(opts.file);
    this.limits = opts.limits;
    const roots = [path.dirname(this.file)];
    if (opts.libDir) roots.push(opts.libDir);
    const sb = newSandbox({ requireRoots: roots, log: opts.log ?? (() => {}) });
    this.L = sb.L;
    this.budget = sb.budget;
    lua.lua_pushcfunction(this.L, tracebackHandler);
    this.msghRef = lauxlib.luaL_ref(this.L, lua.LUA_REGISTRYINDEX);
  }

  /** a global function backed by TypeScript; an Error it throws is raised in Lua at the caller's line */
  define(name: string, fn: HostFunction): void {
    lua.lua_pushcfunction(this.L, (L1: LuaState) => {
      const n = lua.lua_gettop(L1);
      const args: HostArg[] = [];
      let result: unknown;
      let failed: string | null = null;
      try {
        const count = { nodes: 0 };
        for (let i = 1; i <= n; i++) {
          if (lua.lua_type(L1, i) === lua.LUA_TFUNCTION) {
            const w = functionWhere(L1, i);
            lua.lua_pushvalue(L1, i);
            args.push(new LuaCallable(lauxlib.luaL_ref(L1, lua.LUA_REGISTRYINDEX), w));
          } else args.push(toPlain(L1, i, 0, new Set(), count));
        }
        lua.lua_settop(L1, n);
        result = fn(args, where(L1, 1));
      } catch (e) {
        failed = e instanceof Error ? e.message : String(e);
      }
      // raised outside the try: lua_error unwinds with a JS throw of its own
      if (failed !== null) return lauxlib.luaL_error(L1, to_luastring(truncate(failed, MAX_MESSAGE).replace(/%/g, '%%')));
      if (result === undefined) return 0;
      pushPlain(L1, result);
      return 1;
    });
    rawSetGlobal(this.L, to_luastring(name));
  }

  setGlobal(name: string, value: LuaPlain): void {
    pushPlain(this.L, value);
    rawSetGlobal(this.L, to_luastring(name));
  }

  global(name: string): LuaPlain {
    const top = lua.lua_gettop(this.L);
    rawGlobal(this.L, to_luastring(name));
    try {
      return toPlain(this.L, -1);
    } finally {
      lua.lua_settop(this.L, top);
    }
  }

  /** load and run the test file once; throws LpxError with file:line */
  run(source?: Buffer | string): void {
    const L = this.L;
    let src: Buffer;
    try {
      src = source !== undefined ? Buffer.from(source) : fs.readFileSync(this.file);
    } catch (e) {
      throw new LpxError('LPX_CONFIG_FILE', `${displayPath(this.file)}: cannot read the test file: ${(e as Error).message}`, { cause: e });
    }
    const status = lauxlib.luaL_loadbufferx(L, src, src.length, to_luastring('@' + displayPath(this.file)), to_luastring('t'));
    if (status !== lua.LUA_OK) {
      const msg = errorMessage(L, -1);
      lua.lua_settop(L, 0);
      throw new LpxError('LPX_CONFIG_SYNTAX', msg);
    }
    const failure = this.pcall(0);
    if (failure) throw new LpxError('LPX_CONFIG_LOAD', failure.message, { traceback: failure.traceback });
  }

  /** call a Lua function with no arguments; null when it returned, else why it failed */
  call(fn: LuaCallable): CallFailure | null {
    lua.lua_rawgeti(this.L, lua.LUA_REGISTRYINDEX, fn.ref);
    return this.pcall(0);
  }

  private pcall(nargs: number): CallFailure | null {
    const L = this.L;
    const base = lua.lua_gettop(L) - nargs;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.msghRef);
    lua.lua_insert(L, base);
    this.budget.begin(this.limits);
    let status: number;
    try {
      status = lua.lua_pcall(L, nargs, 0, base);
    } finally {
      this.budget.end();
    }
    if (status === lua.LUA_OK) {
      lua.lua_settop(L, base - 1);
      return null;
    }
    let full = errorMessage(L, -1);
    lua.lua_settop(L, base - 1);
    // an abort ran no message handler: its traceback was taken where it stopped
    if (this.budget.aborted !== null && this.budget.abortTrace) full += '\n' + this.budget.abortTrace;
    const at = full.indexOf('\nstack traceback:');
    if (at < 0) return { message: full };
    const traceback = full.slice(at + 1).split('\n').filter((l) => !/^\s*\[C\]: in /.test(l)).join('\n');
    return { message: full.slice(0, at), traceback };
  }
}
