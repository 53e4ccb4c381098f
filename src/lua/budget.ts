/**
 * Bounds every call into a script: a budget of work units (VM instructions from a count
 * hook, plus the work library functions do in JS, charged by the patched fengari in
 * vm.ts), a wall-clock deadline, a cap on the string bytes the call creates and a cap on
 * heap growth.
 *
 * Running out is an abort, and an abort cannot be caught: no message handler runs (not
 * the script's xpcall handler, not even luaproxy's own), and every pcall/xpcall in the
 * script passes it on after restoring its own frame (see the ldo.js patch), up to the
 * host's call. So no script code runs after the budget is spent. As a second line, the
 * hook then fires on every instruction and raises again until the call returns.
 */
import v8 from 'node:v8';
import { lua, lauxlib, to_luastring, limits, type LuaState } from './vm.js';
import { errorText } from './values.js';

export interface BudgetLimits {
  /** work units (VM instructions and library work) per call */
  instructions: number;
  /** wall-clock milliseconds per call */
  timeMs: number;
  /** bytes the heap may grow during one call, and the string bytes one call may create */
  heapBytes: number;
  /** largest string one operation may build */
  maxString: number;
  /** matcher steps per string.find/match/gmatch/gsub */
  matchSteps: number;
}

export const HOOK_EVERY = 1000;
/** library work charged between two checks of the deadline and the heap */
const CHECK_EVERY = 4096;
/** longest message and traceback an abort keeps */
const MAX_TRACE = 4096;

export interface Budget {
  /** start a call under the given limits; a call on another state may nest inside (test files call route) */
  begin(b: BudgetLimits): void;
  /** end the call started by begin() */
  end(): void;
  /** why the current or last call was aborted, or null */
  aborted: string | null;
  /** the Lua stack where the abort happened ("stack traceback:\n..."), or null */
  abortTrace: string | null;
  /**
   * Test mode only (coverage): also call `fn` for every new line the state runs, with
   * the running function's prototype. Install it before any user code runs. The
   * production path never sets it and keeps a count-only hook.
   */
  setLineHook(fn: LineHook | null): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LineHook = (proto: any, line: number) => void;

/** the shared limits an outer call (on another state) had when an inner one began */
interface Saved {
  maxString: number; allocated: number; maxAllocated: number; matchSteps: number;
  used: number; checkAt: number; check: (L: unknown) => void; aborting: boolean; outerCi: unknown;
}

function heapNow(): number {
  const h = v8.getHeapStatistics();
  // string bytes live in Uint8Arrays, mostly outside the JS heap
  return h.used_heap_size + h.external_memory;
}

export function installBudget(L: LuaState): Budget {
  let maxInstr = Infinity;
  let deadline = Infinity;
  let timeMs = 0;
  let heapStart = 0;
  let heapCap = Infinity;
  let active = false;
  let lineHook: LineHook | null = null;
  let mask = lua.LUA_MASKCOUNT;
  const saved: Saved = { maxString: 0, allocated: 0, maxAllocated: 0, matchSteps: 0, used: 0, checkAt: 0, check, aborting: false, outerCi: null };

  const state: Budget = {
    aborted: null,
    abortTrace: null,
    begin(b: BudgetLimits): void {
      save(saved, limits);
      maxInstr = b.instructions;
      timeMs = b.timeMs;
      deadline = performance.now() + b.timeMs;
      heapCap = b.heapBytes;
      heapStart = -1; // measured at the first check: most calls end long before one
      limits.maxString = b.maxString;
      limits.matchSteps = b.matchSteps;
      limits.allocated = 0;
      limits.maxAllocated = b.heapBytes;
      limits.used = 0;
      limits.checkAt = Math.min(CHECK_EVERY, maxInstr + 1);
      limits.check = check;
      limits.aborting = false;
      limits.outerCi = L.ci;
      state.aborted = null;
      state.abortTrace = null;
      active = true;
      lua.lua_sethook(L, hook, mask, HOOK_EVERY);
    },
    end(): void {
      active = false;
      save(limits, saved);
      if (state.aborted !== null) lua.lua_sethook(L, hook, mask, HOOK_EVERY);
    },
    setLineHook(fn: LineHook | null): void {
      lineHook = fn;
      mask = fn ? lua.LUA_MASKCOUNT | lua.LUA_MASKLINE : lua.LUA_MASKCOUNT;
      lua.lua_sethook(L, hook, mask, HOOK_EVERY);
    },
  };

  function abort(L1: LuaState, why: string): never {
    if (state.aborted === null) {
      state.aborted = why;
      // nothing below may be charged or capped: it is luaproxy's own work
      limits.checkAt = Infinity;
      limits.maxAllocated = Infinity;
      limits.maxString = Infinity;
      limits.aborting = true;
      // fire on every instruction from now on: a second line behind the uncatchable unwind
      lua.lua_sethook(L1, hook, lua.LUA_MASKCOUNT, 1);
      if (L1 !== L) lua.lua_sethook(L, hook, lua.LUA_MASKCOUNT, 1);
      // the script's stack, taken here because no message handler runs for an abort
      lauxlib.luaL_traceback(L1, L1, null, 0);
      const trace = errorText(lua.lua_tolstring(L1, -1));
      lua.lua_pop(L1, 1);
      state.abortTrace = trace.length > MAX_TRACE ? trace.slice(0, MAX_TRACE) + '\n\t...' : trace;
    }
    // blame the Lua line that was running (level 0, or the line that called the library
    // function the abort came from), not its caller as luaL_error would
    const ar = new lua.lua_Debug();
    let loc = '';
    for (let level = 0; level < 8 && lua.lua_getstack(L1, level, ar); level++) {
      if (lua.lua_getinfo(L1, to_luastring('Sl'), ar) && ar.currentline > 0) {
        loc = `${errorText(ar.short_src)}:${ar.currentline}: `;
        break;
      }
    }
    lua.lua_pushstring(L1, to_luastring(loc + state.aborted));
    return lua.lua_error(L1) as never;
  }

  /** called by the hook, and by patched fengari when library work reaches limits.checkAt */
  function check(L1: unknown): void {
    if (!active) return;
    if (state.aborted !== null) abort(L1, state.aborted);
    if (limits.used > maxInstr) abort(L1, `script exceeded its budget of ${maxInstr} instructions (an endless loop, or too much work in library calls?)`);
    if (limits.allocated > limits.maxAllocated) abort(L1, `script created more than ${mb(limits.maxAllocated)} of strings in one call`);
    if (performance.now() > deadline) abort(L1, `script exceeded its time budget of ${timeMs} ms (an endless loop or deep recursion?)`);
    if (heapCap !== Infinity) {
      const now = heapNow();
      if (heapStart < 0) heapStart = now;
      else if (now - heapStart > heapCap) abort(L1, `script grew the heap by more than ${mb(heapCap)} in one call`);
    }
    limits.checkAt = Math.min(limits.used + CHECK_EVERY, maxInstr + 1);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function hook(L1: LuaState, ar: any): void {
    if (ar.event === lua.LUA_HOOKLINE) {
      if (lineHook !== null) lineHook(ar.i_ci.func.value.p, ar.currentline);
      return;
    }
    if (!active) return;
    if (state.aborted !== null) abort(L1, state.aborted);
    limits.used += HOOK_EVERY;
    check(L1);
  }

  lua.lua_sethook(L, hook, lua.LUA_MASKCOUNT, HOOK_EVERY);
  return state;
}

/** copy the shared limits field by field (Object.assign cost more than the rest of a short call) */
function save(to: Saved, from: Saved): void {
  to.maxString = from.maxString;
  to.allocated = from.allocated;
  to.maxAllocated = from.maxAllocated;
  to.matchSteps = from.matchSteps;
  to.used = from.used;
  to.checkAt = from.checkAt;
  to.check = from.check;
  to.aborting = from.aborting;
  to.outerCi = from.outerCi;
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1048576)} MB`;
}
