/**
 * Conversions between Lua values and plain TypeScript values, written for luaproxy's
 * needs instead of fengari-interop: reading a config table into plain data, and
 * turning Lua strings and error objects into readable text.
 */
import { lua, to_luastring, type LuaState } from './vm.js';

const decoder = new TextDecoder('utf-8');

/** a Lua string (bytes) as JS text; invalid UTF-8 becomes U+FFFD */
export function errorText(s: Uint8Array | string | null | undefined): string {
  if (s == null) return '';
  if (typeof s === 'string') return s;
  return decoder.decode(s);
}

export { displayPath } from '../core/display-path.js';

/** a Lua function seen from TypeScript: where it was defined */
export class LuaFunctionRef {
  constructor(readonly where: string) {}
}

export type LuaPlain = null | boolean | number | string | LuaFunctionRef | LuaPlain[] | { [k: string]: LuaPlain };

/** most table entries one conversion visits (a shared sub-table counts each time it is reached) */
export const MAX_PLAIN_NODES = 100_000;
/** longest string a conversion keeps whole */
const MAX_PLAIN_STRING = 1 << 20;

/**
 * Read the value at `idx` into plain data; tables become arrays (1..n, no other keys) or
 * objects. Raw reads only: no metamethod runs. Bounded: past `MAX_PLAIN_NODES` visited
 * entries it throws (a table built to be wide and deep would otherwise cost k^depth).
 */
export function toPlain(L: LuaState, idx: number, depth = 0, seen = new Set<unknown>(), count = { nodes: 0 }): LuaPlain {
  idx = lua.lua_absindex(L, idx);
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TNIL: return null;
    case lua.LUA_TBOOLEAN: return lua.lua_toboolean(L, idx);
    case lua.LUA_TNUMBER: return lua.lua_tonumber(L, idx);
    case lua.LUA_TSTRING: {
      const b = lua.lua_tolstring(L, idx) as Uint8Array;
      return b.length > MAX_PLAIN_STRING ? `${errorText(b.subarray(0, MAX_PLAIN_STRING))}... (${b.length - MAX_PLAIN_STRING} more bytes)` : errorText(b);
    }
    case lua.LUA_TFUNCTION: return new LuaFunctionRef(functionWhere(L, idx));
    case lua.LUA_TTABLE: {
      const ptr = lua.lua_topointer(L, idx);
      if (seen.has(ptr) || depth > 32) return '<cycle>';
      if (!lua.lua_checkstack(L, 3)) throw new RangeError('a table nested too deep to read');
      seen.add(ptr);
      const entries: Array<[LuaPlain, LuaPlain]> = [];
      lua.lua_pushnil(L);
      while (lua.lua_next(L, idx) !== 0) {
        if (++count.nodes > MAX_PLAIN_NODES) {
          lua.lua_pop(L, 2);
          throw new RangeError(`a table too large to read: over ${MAX_PLAIN_NODES} entries (counting a shared table each time it is reached)`);
        }
        const kt = lua.lua_type(L, -2);
        const k: LuaPlain = kt === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -2) : kt === lua.LUA_TSTRING ? errorText(lua.lua_tolstring(L, -2)) : `<${errorText(lua.lua_typename(L, kt))}>`;
        entries.push([k, toPlain(L, -1, depth + 1, seen, count)]);
        lua.lua_pop(L, 1);
      }
      seen.delete(ptr);
      const n = entries.length;
      // an empty table reads as an empty list; code that wants a record treats [] as {}
      const isArray = entries.every(([k]) => typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= n);
      if (isArray) {
        const arr: LuaPlain[] = new Array(n);
        for (const [k, v] of entries) arr[(k as number) - 1] = v;
        return arr;
      }
      const obj: { [k: string]: LuaPlain } = {};
      for (const [k, v] of entries) obj[String(k)] = v;
      return obj;
    }
    default:
      return `<${errorText(lua.lua_typename(L, lua.lua_type(L, idx)))}>`;
  }
}

/** `file:line` where the Lua function at idx was defined */
export function functionWhere(L: LuaState, idx: number): string {
  const ar = new lua.lua_Debug();
  lua.lua_pushvalue(L, idx);
  lua.lua_getinfo(L, to_luastring('>S'), ar);
  const src = errorText(ar.short_src);
  return ar.linedefined > 0 ? `${src}:${ar.linedefined}` : src;
}

/** push plain data as a Lua value */
export function pushPlain(L: LuaState, v: unknown): void {
  if (v === null || v === undefined) lua.lua_pushnil(L);
  else if (typeof v === 'boolean') lua.lua_pushboolean(L, v);
  else if (typeof v === 'number') Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? lua.lua_pushinteger(L, v) : lua.lua_pushnumber(L, v);
  else if (typeof v === 'string') lua.lua_pushstring(L, to_luastring(v));
  else if (v instanceof Uint8Array) lua.lua_pushstring(L, v);
  else if (Array.isArray(v)) {
    lua.lua_createtable(L, v.length, 0);
    v.forEach((x, i) => { pushPlain(L, x); lua.lua_rawseti(L, -2, i + 1); });
  } else if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    lua.lua_createtable(L, 0, entries.length);
    for (const [k, x] of entries) { pushPlain(L, x); lua.lua_setfield(L, -2, to_luastring(k)); }
  } else lua.lua_pushstring(L, to_luastring(String(v)));
}

/** push the global `name` without running any metamethod of _G; returns its type */
export function rawGlobal(L: LuaState, name: Uint8Array): number {
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  lua.lua_pushstring(L, name);
  const t = lua.lua_rawget(L, -2);
  lua.lua_remove(L, -2);
  return t;
}

/** set the global `name` to the value on top of the stack (popped), without metamethods */
export function rawSetGlobal(L: LuaState, name: Uint8Array): void {
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  lua.lua_pushstring(L, name);
  lua.lua_pushvalue(L, -3);
  lua.lua_rawset(L, -3);
  lua.lua_pop(L, 2);
}

/** push t[key] of the table at `idx` without metamethods; returns its type */
export function rawField(L: LuaState, idx: number, key: Uint8Array): number {
  idx = lua.lua_absindex(L, idx);
  lua.lua_pushstring(L, key);
  return lua.lua_rawget(L, idx);
}

/** a short description of the value at `idx` for a message, reading nothing inside tables and running no metamethod */
export function brief(L: LuaState, idx: number): string {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TSTRING) {
    const b = lua.lua_tolstring(L, idx) as Uint8Array;
    return JSON.stringify(errorText(b.length > 200 ? b.subarray(0, 200) : b)) + (b.length > 200 ? `... (${b.length} bytes)` : '');
  }
  if (t === lua.LUA_TNUMBER) return String(lua.lua_tonumber(L, idx));
  if (t === lua.LUA_TBOOLEAN) return String(lua.lua_toboolean(L, idx));
  if (t === lua.LUA_TNIL) return 'nil';
  return `a ${errorText(lua.lua_typename(L, t))}`;
}

/** the message of a Lua error value at the top of the stack */
export function errorMessage(L: LuaState, idx = -1): string {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) return errorText(lua.lua_tolstring(L, idx));
  return `(error object is a ${errorText(lua.lua_typename(L, t))} value)`;
}
