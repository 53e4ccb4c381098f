/**
 * One loaded script in its own sandboxed Lua state: runs the file once (the load
 * phase), exposes its globals as plain data, and calls `route(host, path, req)` once
 * per request (the request phase) under a budget. This is the only API the rest of
 * luaproxy uses to reach Lua; fengari never shows through it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { lua, lauxlib, to_luastring, type LuaState } from './vm.js';
import { newSandbox, where, joinArgs, tracebackHandler } from './state.js';
import type { Budget, BudgetLimits } from './budget.js';
import { errorText, errorMessage, displayPath, toPlain, pushPlain, functionWhere, rawGlobal, rawSetGlobal, rawField, brief, type LuaPlain } from './values.js';
import { LpxError, type ErrorCode } from '../core/errors.js';
import { NO_ROUTE, type Decision } from '../core/decision.js';
// headers of a forwarded request only the proxy writes: framing and hop-by-hop (a script value could desync the backend's parser)
import { ROUTE_MAY_NOT_SET } from '../http1/header-policy.js';
import type { LineCoverage } from './coverage.js';

const req = createRequire(import.meta.url);
const lobject = req('fengari/src/lobject.js') as { pushsvalue2s(L: LuaState, ts: unknown): void };
const lstring = req('fengari/src/lstring.js') as { luaS_bless(L: LuaState, s: Uint8Array): unknown };

/** push bytes as a Lua string without copying; the caller must never mutate them afterwards */
function pushOwned(L: LuaState, bytes: Uint8Array): void {
  lobject.pushsvalue2s(L, lstring.luaS_bless(L, bytes));
}

/** what `req` shows a script of its request (src/routing/call.ts makes it, for every source of requests) */
export interface RouteView {
  readonly method: string;
  /** the target as sent, in origin form */
  readonly url: string;
  /** the part of the target after `?`, or null */
  readonly query: string | null;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly client: string;
  /** "http" or "https" */
  readonly scheme: string;
  /** "1.0", "1.1" or "2" */
  readonly httpVersion: string;
  /** the TLS server name (SNI), or null */
  readonly tlsSni: string | null;
}

/** the TypeScript side of the `proxy` module; backends are named by their index */
export interface ProxyHost {
  /** the hash of a proxy.hash key (what failover along that key follows) */
  hashKey(key: Uint8Array): number;
  /** the backend a key hash picks */
  hashPick(keyHash: number): number;
  pick(strategy: 'round_robin' | 'least_conn' | 'random'): number;
  backends(): Array<Record<string, string | number | boolean | null>>;
}

// field names of route's table result, encoded once
const K_ROUTE = to_luastring('route');
const K_STATUS = to_luastring('status');
const K_BACKEND = to_luastring('backend');
const K_PATH = to_luastring('path');
const K_HEADERS = to_luastring('headers');
const K_BODY = to_luastring('body');
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** bytes as a JS string, one char per byte, as node:http reads and writes header values and paths */
function latin1(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.length).toString('latin1');
}

export interface ScriptOptions {
  /** the script file */
  file: string;
  /** its text, when it does not come from disk (tests); `file` still names it */
  source?: Buffer | string;
  /** the bytes of files already read (the script and its modules), used instead of the disk: a copy of a loaded script */
  sources?: ReadonlyMap<string, Buffer>;
  /** extra folder `require` may load from (the project's lua/ folder) */
  libDir?: string;
  log?: (level: string, msg: string, where: string) => void;
  /** limits for the load phase (running the file once) */
  loadLimits: BudgetLimits;
  /** limits for each route() call */
  routeLimits: BudgetLimits;
  /** test mode only: record which lines run (luaproxy test --coverage) */
  coverage?: LineCoverage;
  /**
   * The most bytes the state may hold across calls (estimated by stateBytes(), every
   * STATE_CHECK_EVERY route() calls), and who to tell when it holds more: route() goes
   * on working; the owner replaces the script with a fresh load.
   */
  stateSize?: { maxBytes: number; onOversize: (bytes: number) => void };
}

/** route() calls between two estimates of the state's size */
export const STATE_CHECK_EVERY = 4096;

export class LuaScript {
  readonly file: string;
  /** every file the state loaded (the script and what it required), with its bytes */
  readonly files = new Map<string, Buffer>();
  readonly routeLimits: BudgetLimits;
  private readonly L: LuaState;
  private readonly budget: Budget;
  private readonly msghRef: number;
  private readonly reqRef: number;
  private routeRef = -1;
  private host: ProxyHost | null = null;
  private names: string[] = [];
  private nameIndex = new Map<string, number>();
  private nameIdentity = new Map<Uint8Array, number>();
  private nameRefs: number[] = [];
  /** route returned a backend's name: one frozen decision per backend, so the common case allocates nothing */
  private outcomes: Decision[] = [];
  private currentReq: RouteView | null = null;
  /** the proxy.hash pick of the call in progress and its key hash (-1: none); reset by every route() call */
  private callHashIndex = -1;
  private callHashKey = -1;
  private calls = 0;
  private readonly stateSize: ScriptOptions['stateSize'];
  private log: (level: string, msg: string, where: string) => void;

  private constructor(opts: ScriptOptions) {
    this.file = path.resolve(opts.file);
    this.routeLimits = opts.routeLimits;
    this.stateSize = opts.stateSize;
    this.log = opts.log ?? (() => {});
    const roots = [path.dirname(this.file)];
    if (opts.libDir) roots.push(opts.libDir);
    const sb = newSandbox({
      requireRoots: roots,
      log: (level, msg, w) => this.log(level, msg, w),
      onFile: (abs, src) => this.files.set(abs, src),
      sources: opts.sources,
    });
    this.L = sb.L;
    this.budget = sb.budget;
    if (opts.coverage) this.budget.setLineHook(opts.coverage.onLine);
    const L = this.L;
    lua.lua_pushcfunction(L, tracebackHandler);
    this.msghRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.reqRef = this.makeRequestView();
    this.installProxyModule();
  }

  /** load and run a script file; throws LpxError LPX_CONFIG_FILE / _SYNTAX / _LOAD with file:line */
  static load(opts: ScriptOptions): LuaScript {
    const s = new LuaScript(opts);
    let src: Buffer;
    const known = opts.sources?.get(s.file);
    if (opts.source !== undefined) src = Buffer.from(opts.source);
    else if (known !== undefined) src = known;
    else {
      try {
        src = fs.readFileSync(s.file);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a folder, not a Lua file' : err.code === 'EACCES' ? 'permission denied' : err.message;
        throw new LpxError('LPX_CONFIG_FILE', `${displayPath(s.file)}: cannot read the script: ${why}`, { cause: e });
      }
    }
    s.files.set(s.file, src);
    const L = s.L;
    const status = lauxlib.luaL_loadbufferx(L, src, src.length, to_luastring('@' + displayPath(s.file)), to_luastring('t'));
    if (status !== lua.LUA_OK) {
      const msg = errorMessage(L, -1);
      lua.lua_settop(L, 0);
      throw new LpxError('LPX_CONFIG_SYNTAX', msg, { where: whereOf(msg) });
    }
    s.protectedCall(0, 0, opts.loadLimits, 'LPX_CONFIG_LOAD');
    // globals are read raw from here on: a metatable on _G must not run outside a budget
    if (rawGlobal(L, K_ROUTE) === lua.LUA_TFUNCTION) s.routeRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    else lua.lua_pop(L, 1);
    return s;
  }

  /** call the function below its `nargs` arguments on the stack, under `limits`; leaves `nres` results */
  private protectedCall(nargs: number, nres: number, limits: BudgetLimits, code: ErrorCode): void {
    const L = this.L;
    const base = lua.lua_gettop(L) - nargs; // index of the function
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.msghRef);
    lua.lua_insert(L, base);
    this.budget.begin(limits);
    const outer = runningL;
    runningL = L;
    let status: number;
    try {
      status = lua.lua_pcall(L, nargs, nres, base);
    } finally {
      runningL = outer;
      this.budget.end();
    }
    if (status !== lua.LUA_OK) {
      const full = errorMessage(L, -1);
      lua.lua_settop(L, base - 1);
      // an abort ran no message handler: its traceback was taken where it stopped
      const aborted = this.budget.aborted !== null;
      throw scriptError(code, aborted && this.budget.abortTrace ? `${full}\n${this.budget.abortTrace}` : full, aborted);
    }
    lua.lua_remove(L, base);
  }

  /** a global's value as plain data (functions become LuaFunctionRef) */
  global(name: string): LuaPlain {
    const top = lua.lua_gettop(this.L);
    rawGlobal(this.L, to_luastring(name));
    try {
      return toPlain(this.L, -1);
    } catch (e) {
      throw new LpxError('LPX_CONFIG_INVALID', `${displayPath(this.file)}: ${name}: ${(e as Error).message}`, { cause: e });
    } finally {
      lua.lua_settop(this.L, top);
    }
  }

  /** Lua type name of a global ('nil' when absent) */
  globalTypeName(name: string): string {
    return errorText(lua.lua_typename(this.L, this.globalType(name)));
  }

  private globalType(name: string): number {
    const t = rawGlobal(this.L, to_luastring(name));
    lua.lua_pop(this.L, 1);
    return t;
  }

  /** names of the globals the script defined (beyond the sandbox's own) */
  userGlobals(): string[] {
    const L = this.L;
    const out: string[] = [];
    lua.lua_pushglobaltable(L);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2) !== 0) {
      if (lua.lua_type(L, -2) === lua.LUA_TSTRING) {
        const k = errorText(lua.lua_tolstring(L, -2));
        if (!SANDBOX_GLOBALS.has(k)) out.push(k);
      }
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
    return out.sort();
  }

  /** where a global function was defined, as file:line */
  functionWhere(name: string): string | null {
    rawGlobal(this.L, to_luastring(name));
    const w = lua.lua_type(this.L, -1) === lua.LUA_TFUNCTION ? functionWhere(this.L, -1) : null;
    lua.lua_pop(this.L, 1);
    return w;
  }

  get hasRoute(): boolean {
    return this.routeRef >= 0;
  }

  /** make the backend list known to the request phase: names by index, and the helpers behind `proxy` */
  bindBackends(names: string[], host: ProxyHost): void {
    const L = this.L;
    for (const ref of this.nameRefs) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, ref);
    this.names = names.slice();
    this.host = host;
    this.nameIndex = new Map(names.map((n, i) => [n, i]));
    this.nameIdentity = new Map();
    this.nameRefs = names.map((n, i) => {
      lua.lua_pushstring(L, to_luastring(n));
      this.nameIdentity.set(lua.lua_tolstring(L, -1) as Uint8Array, i);
      return lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    });
    this.outcomes = names.map((name, index) => Object.freeze({ kind: 'backend', index, name, path: null, headers: null, hashKey: -1 }) as Decision);
  }

  /**
   * Call route(host, path, req). `host` and `path` are bytes the script may keep
   * (never mutated afterwards). Returns a backend, respond or none decision; a backend
   * that route got from proxy.hash carries the key's hash, for failover. Throws LpxError
   * on a script error, a budget abort, a bad return value or an unknown backend name.
   */
  route(host: Uint8Array, reqPath: Uint8Array, request: RouteView | null): Decision {
    if (this.routeRef < 0) throw new LpxError('LPX_ROUTE_ERROR', `${displayPath(this.file)}: the script defines no route(host, path) function`);
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.routeRef);
    pushOwned(L, host);
    pushOwned(L, reqPath);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.reqRef);
    this.currentReq = request;
    this.callHashIndex = -1;
    try {
      this.protectedCall(3, 1, this.routeLimits, 'LPX_ROUTE_ERROR');
    } finally {
      this.currentReq = null;
    }
    try {
      return this.readOutcome();
    } finally {
      lua.lua_settop(L, 0);
      if (++this.calls === STATE_CHECK_EVERY) this.checkStateSize();
    }
  }

  /** estimate the state's size now and then; a state that only grows (a global table filled per request) is reported to the owner once */
  private checkStateSize(): void {
    this.calls = 0;
    const cap = this.stateSize;
    if (!cap) return;
    const bytes = this.stateBytes(cap.maxBytes);
    if (bytes > cap.maxBytes) {
      this.calls = -Infinity; // once: the owner replaces this script
      // later, never from inside route(): the owner may well call route() again (a reload's dry run)
      queueMicrotask(() => cap.onOversize(bytes));
    }
  }

  /**
   * An estimate of the bytes the state holds: everything reachable from the registry
   * (globals, upvalues, metatables, the require cache), with fixed costs per table
   * entry and function and the bytes of each string. Stops counting once past `limit`.
   * Reads raw: no script code runs.
   */
  stateBytes(limit = Infinity): number {
    const L = this.L;
    const top = lua.lua_gettop(L);
    const seen = new Set<unknown>();
    let bytes = 0;
    const visit = (idx: number): void => {
      if (bytes > limit || !lua.lua_checkstack(L, 4)) return;
      idx = lua.lua_absindex(L, idx);
      const t = lua.lua_type(L, idx);
      if (t === lua.LUA_TSTRING) { bytes += 24 + (lua.lua_tolstring(L, idx) as Uint8Array).length; return; }
      if (t !== lua.LUA_TTABLE && t !== lua.LUA_TFUNCTION && t !== lua.LUA_TUSERDATA) { bytes += 16; return; }
      const p = lua.lua_topointer(L, idx);
      if (seen.has(p)) return;
      seen.add(p);
      bytes += 64;
      if (t === lua.LUA_TTABLE) {
        lua.lua_pushnil(L);
        while (lua.lua_next(L, idx) !== 0) {
          bytes += 48;
          visit(-2);
          visit(-1);
          lua.lua_pop(L, 1);
          if (bytes > limit) { lua.lua_pop(L, 1); break; }
        }
      } else if (t === lua.LUA_TFUNCTION) {
        for (let i = 1; lua.lua_getupvalue(L, idx, i) !== null; i++) {
          visit(-1);
          lua.lua_pop(L, 1);
        }
      }
      if (lua.lua_getmetatable(L, idx)) {
        visit(-1);
        lua.lua_pop(L, 1);
      }
    };
    try {
      lua.lua_pushvalue(L, lua.LUA_REGISTRYINDEX);
      visit(-1);
    } catch (e) {
      // a chain nested deeper than the JS stack: count what was seen (never a false alarm)
      if (!(e instanceof RangeError)) throw e;
    } finally {
      lua.lua_settop(L, top);
    }
    return bytes;
  }

  private readOutcome(): Decision {
    const L = this.L;
    const t = lua.lua_type(L, -1);
    if (t === lua.LUA_TSTRING) {
      const i = this.backendIndex(lua.lua_tolstring(L, -1), 'route returned');
      return i === this.callHashIndex ? { kind: 'backend', index: i, name: this.names[i], path: null, headers: null, hashKey: this.callHashKey } : this.outcomes[i];
    }
    if (t === lua.LUA_TNIL) return NO_ROUTE;
    if (t !== lua.LUA_TTABLE) {
      throw new LpxError('LPX_ROUTE_RETURN', `${this.routeWhere()}: route must return a backend name, nil or a table; it returned a ${errorText(lua.lua_typename(L, t))}${t === lua.LUA_TNUMBER || t === lua.LUA_TBOOLEAN ? ` (${brief(L, -1)})` : ''}`);
    }
    // read the fields straight off the stack, raw (no metamethod of the result runs
    // once the budget has ended): no conversion of the whole table
    const bad = (what: string) => new LpxError('LPX_ROUTE_RETURN', `${this.routeWhere()}: route returned ${what}`);
    let status = -1;
    if (rawField(L, -1, K_STATUS) !== lua.LUA_TNIL) {
      if (!lua.lua_isinteger(L, -1) || lua.lua_tointeger(L, -1) < 200 || lua.lua_tointeger(L, -1) > 599) {
        throw bad(`status = ${brief(L, -1)}; expected an integer from 200 to 599`);
      }
      status = lua.lua_tointeger(L, -1);
    }
    lua.lua_pop(L, 1);
    const bt = rawField(L, -1, K_BACKEND);
    const backend = bt === lua.LUA_TSTRING ? (lua.lua_tolstring(L, -1) as Uint8Array) : null;
    lua.lua_pop(L, 1);
    if (bt !== lua.LUA_TNIL && backend === null) throw bad(`backend of type ${errorText(lua.lua_typename(L, bt))}; expected a backend name`);
    if (status >= 0 && backend !== null) throw bad('a table with both status and backend; give one');
    const headers = this.headersField();
    if (backend !== null) {
      const index = this.backendIndex(backend, 'route returned { backend = ... }');
      let p: string | null = null;
      const pt = rawField(L, -1, K_PATH);
      if (pt === lua.LUA_TSTRING) p = latin1(lua.lua_tolstring(L, -1));
      lua.lua_pop(L, 1);
      if (pt !== lua.LUA_TNIL && (p === null || p.charCodeAt(0) !== 47 || /[\0-\x20\x7f]/.test(p))) {
        throw bad(`path = ${p === null ? `a ${errorText(lua.lua_typename(L, pt))}` : JSON.stringify(p)}; expected a string starting with "/" and without spaces or control characters`);
      }
      if (headers !== null) {
        for (const [k] of headers) {
          if (ROUTE_MAY_NOT_SET.has(k.toLowerCase())) throw bad(`header ${k} for the backend, which the proxy sets itself (message framing and hop-by-hop headers cannot be rewritten)`);
        }
      }
      return { kind: 'backend', index, name: this.names[index], path: p, headers, hashKey: index === this.callHashIndex ? this.callHashKey : -1 };
    }
    if (status >= 0) {
      const bodyType = rawField(L, -1, K_BODY);
      let body: Buffer | null = null;
      if (bodyType === lua.LUA_TSTRING) body = Buffer.from(lua.lua_tolstring(L, -1) as Uint8Array);
      lua.lua_pop(L, 1);
      if (bodyType !== lua.LUA_TNIL && bodyType !== lua.LUA_TSTRING) throw bad(`body of type ${errorText(lua.lua_typename(L, bodyType))}; expected a string`);
      for (const [k, v] of headers ?? []) if (v === null) throw bad(`header ${k} = false, which only makes sense when forwarding to a backend`);
      return { kind: 'respond', status, headers: headers as Array<[string, string]> | null, body };
    }
    throw bad('a table without backend or status; expected { backend = "name", ... } or { status = 301, ... }');
  }

  /** route's { headers = { name = value | false } }, read in place; values keep their bytes (latin1) */
  private headersField(): Array<[string, string | null]> | null {
    const L = this.L;
    const ht = rawField(L, -1, K_HEADERS);
    if (ht === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      return null;
    }
    // route() clears the stack after a throw
    const fail = (why: string) => new LpxError('LPX_ROUTE_RETURN', `${this.routeWhere()}: route returned ${why}`);
    if (ht !== lua.LUA_TTABLE) throw fail('headers that are not a table of name = value');
    const out: Array<[string, string | null]> = [];
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2) !== 0) {
      if (lua.lua_type(L, -2) !== lua.LUA_TSTRING) throw fail('headers that are not a table of name = value');
      const k = latin1(lua.lua_tolstring(L, -2));
      if (!HEADER_NAME.test(k)) throw fail(`header name ${JSON.stringify(k)}, which is not a valid HTTP header name`);
      const vt = lua.lua_type(L, -1);
      if (vt === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, -1)) out.push([k, null]);
      else if (vt === lua.LUA_TSTRING || vt === lua.LUA_TNUMBER) {
        // lua_tolstring would turn a number key's value into a string in place, which
        // confuses lua_next; numbers are converted on a copy
        lua.lua_pushvalue(L, -1);
        const v = latin1(lua.lua_tolstring(L, -1));
        lua.lua_pop(L, 1);
        // the proxy writes heads itself: a control byte here would split or corrupt one
        if (/[\0-\x08\x0a-\x1f\x7f]/.test(v)) throw fail(`header ${k} containing CR, LF or NUL (or another control character)`);
        out.push([k, v]);
      } else throw fail(`header ${k} of type ${errorText(lua.lua_typename(L, vt))}; it must be a string, a number, or false to remove it`);
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
    return out;
  }

  private backendIndex(bytes: Uint8Array, what: string): number {
    const byIdentity = this.nameIdentity.get(bytes);
    if (byIdentity !== undefined) return byIdentity;
    const name = errorText(bytes);
    const i = this.nameIndex.get(name);
    if (i !== undefined) return i;
    const known = this.names.length ? this.names.map((n) => JSON.stringify(n)).join(', ') : 'none';
    throw new LpxError('LPX_ROUTE_NO_BACKEND', `${this.routeWhere()}: ${what} ${JSON.stringify(name)}, which is not a backend (backends: ${known})`);
  }

  private routeWhere(): string {
    return this.functionWhere('route') ?? displayPath(this.file);
  }

  /** call a global function with plain arguments (used by the test runner); returns its results as plain data */
  callGlobal(name: string, args: unknown[], limits: BudgetLimits = this.routeLimits): LuaPlain[] {
    const L = this.L;
    const top = lua.lua_gettop(L);
    if (rawGlobal(L, to_luastring(name)) !== lua.LUA_TFUNCTION) {
      lua.lua_settop(L, top);
      throw new LpxError('LPX_ROUTE_ERROR', `${displayPath(this.file)}: ${name} is not a function`);
    }
    for (const a of args) pushPlain(L, a);
    this.protectedCall(args.length, lua.LUA_MULTRET, limits, 'LPX_ROUTE_ERROR');
    try {
      const out: LuaPlain[] = [];
      const count = { nodes: 0 };
      for (let i = top + 1; i <= lua.lua_gettop(L); i++) out.push(toPlain(L, i, 0, new Set(), count));
      return out;
    } catch (e) {
      throw new LpxError('LPX_ROUTE_RETURN', `${displayPath(this.file)}: ${name} returned ${(e as Error).message}`, { cause: e });
    } finally {
      lua.lua_settop(L, top);
    }
  }

  private makeRequestView(): number {
    const L = this.L;
    lua.lua_newuserdata(L, 0);
    lua.lua_createtable(L, 0, 2);
    lua.lua_pushcfunction(L, (L1: LuaState) => {
      const r = this.currentReq;
      const key = errorText(lua.lua_tolstring(L1, 2));
      if (!r) { lua.lua_pushnil(L1); return 1; }
      switch (key) {
        case 'method': pushOwned(L1, Buffer.from(r.method, 'latin1')); break;
        case 'url': pushOwned(L1, Buffer.from(r.url, 'latin1')); break;
        case 'query': {
          const q = r.query;
          if (q === null) lua.lua_pushnil(L1); else pushOwned(L1, Buffer.from(q, 'latin1'));
          break;
        }
        case 'client': pushOwned(L1, Buffer.from(r.client, 'latin1')); break;
        case 'scheme': lua.lua_pushstring(L1, to_luastring(r.scheme)); break;
        case 'http_version': lua.lua_pushstring(L1, to_luastring(r.httpVersion)); break;
        case 'tls_sni': if (r.tlsSni === null) lua.lua_pushnil(L1); else pushOwned(L1, Buffer.from(r.tlsSni, 'latin1')); break;
        case 'headers': {
          lua.lua_createtable(L1, 0, 8);
          for (const [k, v] of Object.entries(r.headers)) {
            if (v === undefined) continue;
            pushOwned(L1, Buffer.from(Array.isArray(v) ? v.join(', ') : v, 'latin1'));
            lua.lua_setfield(L1, -2, to_luastring(k));
          }
          break;
        }
        default: lua.lua_pushnil(L1);
      }
      return 1;
    });
    lua.lua_setfield(L, -2, to_luastring('__index'));
    lua.lua_pushstring(L, to_luastring('request'));
    lua.lua_setfield(L, -2, to_luastring('__name'));
    lua.lua_pushboolean(L, 1);
    lua.lua_setfield(L, -2, to_luastring('__metatable'));
    lua.lua_setmetatable(L, -2);
    return lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }

  private installProxyModule(): void {
    const L = this.L;
    const needHost = (L1: LuaState, fn: string): ProxyHost => {
      if (!this.host) lauxlib.luaL_error(L1, to_luastring(`proxy.${fn} can only be called inside route() (the backend list is not built while the script loads)`));
      return this.host as ProxyHost;
    };
    const pushIndex = (L1: LuaState, i: number): number => {
      if (i < 0) lua.lua_pushnil(L1);
      else lua.lua_rawgeti(L1, lua.LUA_REGISTRYINDEX, this.nameRefs[i]);
      return 1;
    };
    const fns: Record<string, (L1: LuaState) => number> = {
      hash: (L1) => {
        const t = lua.lua_type(L1, 1);
        if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) {
          return lauxlib.luaL_argerror(L1, 1, to_luastring(`string expected, got ${errorText(lua.lua_typename(L1, t))}`));
        }
        const host = needHost(L1, 'hash');
        const k = host.hashKey(lua.lua_tolstring(L1, 1));
        const i = host.hashPick(k);
        // failover of this request follows the key, if route returns this pick
        this.callHashIndex = i;
        this.callHashKey = k;
        return pushIndex(L1, i);
      },
      round_robin: (L1) => pushIndex(L1, needHost(L1, 'round_robin').pick('round_robin')),
      least_conn: (L1) => pushIndex(L1, needHost(L1, 'least_conn').pick('least_conn')),
      random: (L1) => pushIndex(L1, needHost(L1, 'random').pick('random')),
      backends: (L1) => {
        pushPlain(L1, this.host ? this.host.backends() : []);
        return 1;
      },
      backend: (L1) => {
        const name = errorText(lauxlib.luaL_checklstring(L1, 1));
        pushPlain(L1, this.host?.backends().find((b) => b.name === name) ?? null);
        return 1;
      },
      log: (L1) => {
        const n = lua.lua_gettop(L1);
        let level = 'info';
        let first = 1;
        if (n >= 2 && lua.lua_type(L1, 1) === lua.LUA_TSTRING) {
          const l = errorText(lua.lua_tolstring(L1, 1));
          if (!LOG_LEVELS.has(l)) return lauxlib.luaL_argerror(L1, 1, to_luastring(`log level expected (${[...LOG_LEVELS].join(', ')}), got '${l}'`));
          level = l;
          first = 2;
        }
        this.log(level, joinArgs(L1, first, ' '), where(L1));
        return 0;
      },
    };
    lua.lua_createtable(L, 0, Object.keys(fns).length + 1);
    for (const [name, fn] of Object.entries(fns)) {
      lua.lua_pushcfunction(L, fn);
      lua.lua_setfield(L, -2, to_luastring(name));
    }
    rawSetGlobal(L, to_luastring('proxy'));
  }
}


/** the state whose script is running now (a call in progress), for whereScriptIs() */
let runningL: LuaState | null = null;

/**
 * `file:line` of the script line running right now, or null when no script is running.
 * Only reads the state: meant for the watchdog, which calls it on a main thread that has
 * stopped (between two JS instructions, through the inspector).
 */
export function whereScriptIs(): string | null {
  const L = runningL;
  if (L === null) return null;
  const ar = new lua.lua_Debug();
  for (let level = 0; level < 16 && lua.lua_getstack(L, level, ar); level++) {
    if (lua.lua_getinfo(L, to_luastring('Sl'), ar) && ar.currentline > 0) return `${errorText(ar.short_src)}:${ar.currentline}`;
  }
  return null;
}

/** the functions the `proxy` module exposes (checked against the LuaLS stubs in tests) */
export const PROXY_FUNCTIONS = ['hash', 'round_robin', 'least_conn', 'random', 'backends', 'backend', 'log'] as const;

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error']);

const SANDBOX_GLOBALS = new Set([
  '_G', '_VERSION', 'assert', 'error', 'getmetatable', 'ipairs', 'load', 'next', 'pairs', 'pcall', 'print', 'rawequal',
  'rawget', 'rawlen', 'rawset', 'select', 'setmetatable', 'tonumber', 'tostring', 'type', 'xpcall', 'string', 'table',
  'math', 'utf8', 'os', 'require', 'proxy', 'collectgarbage',
]);

function whereOf(msg: string): string | undefined {
  const m = /^(.+?:\d+):/.exec(msg);
  return m ? m[1] : undefined;
}

/** split "msg\nstack traceback:\n..." and drop fengari's own [C] frames */
function scriptError(code: ErrorCode, full: string, budget: boolean): LpxError {
  const at = full.indexOf('\nstack traceback:');
  const message = at >= 0 ? full.slice(0, at) : full;
  const traceback = at >= 0
    ? full.slice(at + 1).split('\n').filter((l) => !/^\s*\[C\]: in \?$/.test(l)).join('\n')
    : undefined;
  return new LpxError(budget && code === 'LPX_ROUTE_ERROR' ? 'LPX_ROUTE_BUDGET' : code, message, { traceback, where: whereOf(message) });
}
