/**
 * Bounds every call into a script: an instruction budget, a wall-clock deadline and a
 * heap-growth cap, checked from a count hook, plus the string and pattern-matcher caps
 * enforced inside the patched fengari (see vm.ts).
 *
 * A script's own `pcall` can catch the hook's error, so once a call is aborted the hook
 * fires on every instruction and raises again until control leaves the script.
 */
import v8 from 'node:v8';
import { lua, to_luastring, limits, type LuaState } from './vm.js';
import { errorText } from './values.js';

export interface BudgetLimits {
  /** VM instructions per call */
  instructions: number;
  /** wall-clock milliseconds per call */
  timeMs: number;
  /** bytes the JS heap may grow during one call */
  heapBytes: number;
  /** largest string one operation may build */
  maxString: number;
  /** matcher steps per string.find/match/gmatch/gsub */
  matchSteps: number;
}

export const HOOK_EVERY = 1000;

export interface Budget {
  /** start a call under the given limits (calls do not nest: Lua never re-enters the VM through luaproxy's helpers) */
  begin(b: BudgetLimits): void;
  /** end the call started by begin() */
  end(): void;
  /** why the current or last call was aborted, or null */
  aborted: string | null;
  /**
   * Test mode only (coverage): also call `fn` for every new line the state runs, with
   * the running function's prototype. Install it before any user code runs. The
   * production path never sets it and keeps a count-only hook.
   */
  setLineHook(fn: LineHook | null): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LineHook = (proto: any, line: number) => void;

export function installBudget(L: LuaState): Budget {
  let used = 0;
  let maxInstr = Infinity;
  let deadline = Infinity;
  let timeMs = 0;
  let heapStart = -1;
  let heapCap = Infinity;
  let active = false;
  let hookTicks = 0;
  let lineHook: LineHook | null = null;
  let mask = lua.LUA_MASKCOUNT;

  const state: Budget = {
    aborted: null,
    begin(b: BudgetLimits): void {
      used = 0;
      maxInstr = b.instructions;
      timeMs = b.timeMs;
      deadline = performance.now() + b.timeMs;
      heapStart = -1;
      heapCap = b.heapBytes;
      limits.maxString = b.maxString;
      limits.matchSteps = b.matchSteps;
      limits.allocated = 0;
      state.aborted = null;
      active = true;
      lua.lua_sethook(L, hook, mask, HOOK_EVERY);
    },
    end(): void {
      active = false;
      if (state.aborted !== null) lua.lua_sethook(L, hook, mask, HOOK_EVERY);
    },
    setLineHook(fn: LineHook | null): void {
      lineHook = fn;
      mask = fn ? lua.LUA_MASKCOUNT | lua.LUA_MASKLINE : lua.LUA_MASKCOUNT;
      lua.lua_sethook(L, hook, mask, HOOK_EVERY);
    },
  };

  function abort(L1: LuaState, why: string): never {
    if (state.aborted === null) state.aborted = why;
    // fire on every instruction from now on, so a pcall in the script cannot swallow it
    lua.lua_sethook(L1, hook, lua.LUA_MASKCOUNT, 1);
    if (L1 !== L) lua.lua_sethook(L, hook, lua.LUA_MASKCOUNT, 1);
    // blame the line that was running (level 0), not its caller as luaL_error would
    const ar = new lua.lua_Debug();
    let loc = '';
    if (lua.lua_getstack(L1, 0, ar) && lua.lua_getinfo(L1, to_luastring('Sl'), ar) && ar.currentline > 0) {
      loc = `${errorText(ar.short_src)}:${ar.currentline}: `;
    }
    lua.lua_pushstring(L1, to_luastring(loc + state.aborted));
    return lua.lua_error(L1) as never;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function hook(L1: LuaState, ar: any): void {
    if (ar.event === lua.LUA_HOOKLINE) {
      if (lineHook !== null) lineHook(ar.i_ci.func.value.p, ar.currentline);
      return;
    }
    if (!active) return;
    if (state.aborted !== null) abort(L1, state.aborted);
    used += HOOK_EVERY;
    if (used > maxInstr) abort(L1, `script exceeded its budget of ${maxInstr} instructions (an endless loop?)`);
    if (performance.now() > deadline) abort(L1, `script exceeded its time budget of ${timeMs} ms (an endless loop or deep recursion?)`);
    if ((++hookTicks & 7) === 0 && heapCap !== Infinity) {
      const used = v8.getHeapStatistics().used_heap_size;
      if (heapStart < 0) heapStart = used;
      else if (used - heapStart > heapCap) abort(L1, `script grew the heap by more than ${Math.round(heapCap / 1048576)} MB in one call`);
    }
  }

  lua.lua_sethook(L, hook, lua.LUA_MASKCOUNT, HOOK_EVERY);
  return state;
}
