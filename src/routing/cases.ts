/**
 * The compact table form of routing tests: one case per row, either positional
 * `{ "IronHand.example.com", "/", "web2" }` or named
 * `{ host = "a.example.com", path = "/x", down = { "web2" }, expect = "web3" }`.
 * Used by `routes { ... }` in test files and by a script's own `tests` global.
 */
import { LpxError } from '../core/errors.js';
import type { LuaPlain } from '../lua/values.js';
import { checkExpectation, compare, type Mismatch } from './expect.js';
import { luaResult } from '../core/decision.js';
import type { RouteRequest, RoutingScript } from './routing-script.js';

export interface RouteCase {
  name: string;
  host: string;
  path: string;
  expect: LuaPlain;
  request: RouteRequest;
  down: string[];
  drained: string[];
  weights: Record<string, number>;
}

const KEYS = ['host', 'path', 'expect', 'name', 'method', 'query', 'headers', 'client', 'scheme', 'http_version', 'tls_sni', 'down', 'drained', 'weights'];

/** read one row; throws LPX_TEST_USAGE saying what is wrong with it */
export function parseCase(row: LuaPlain): RouteCase {
  if (row === null || typeof row !== 'object') {
    throw new LpxError('LPX_TEST_USAGE', `a case must be a table like { "host", "/path", "backend" }, got ${row === null ? 'nil' : typeof row}`);
  }
  const get = (k: string, i: number): LuaPlain | undefined => {
    if (Array.isArray(row)) return row[i - 1];
    const o = row as Record<string, LuaPlain>;
    return o[k] ?? o[String(i)];
  };
  if (!Array.isArray(row)) {
    for (const k of Object.keys(row)) {
      if (!KEYS.includes(k) && !['1', '2', '3'].includes(k)) throw new LpxError('LPX_TEST_USAGE', `unknown field "${k}" in a case; use ${KEYS.join(', ')}`);
    }
  }
  const host = get('host', 1);
  if (typeof host !== 'string') throw new LpxError('LPX_TEST_USAGE', `a case needs a host (a string) first or as host = "...", got ${host === undefined || host === null ? 'nil' : JSON.stringify(host)}`);
  const path = get('path', 2) ?? '/';
  if (typeof path !== 'string' || !path.startsWith('/')) throw new LpxError('LPX_TEST_USAGE', `a case's path must be a string starting with "/", got ${JSON.stringify(path)}`);
  const exp = Array.isArray(row) ? row[2] : ((row as Record<string, LuaPlain>).expect !== undefined ? (row as Record<string, LuaPlain>).expect : (row as Record<string, LuaPlain>)['3']);
  checkExpectation(exp);
  const o = Array.isArray(row) ? {} : (row as Record<string, LuaPlain>);
  const names = (k: 'down' | 'drained'): string[] => {
    const v = o[k];
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    throw new LpxError('LPX_TEST_USAGE', `${k} must be a backend name or a list of names`);
  };
  const weights: Record<string, number> = {};
  if (o.weights !== undefined) {
    if (typeof o.weights !== 'object' || o.weights === null) throw new LpxError('LPX_TEST_USAGE', 'weights must be a table like { web1 = 3 }');
    for (const [k, v] of Object.entries(o.weights)) {
      if (typeof v !== 'number') throw new LpxError('LPX_TEST_USAGE', `weights.${k} must be a number`);
      weights[k] = v;
    }
  }
  const headers: Record<string, string> = {};
  if (o.headers !== undefined) for (const [k, v] of Object.entries(o.headers as Record<string, LuaPlain>)) headers[k] = String(v);
  const down = names('down');
  const drained = names('drained');
  const state = [...down.map((n) => `${n} down`), ...drained.map((n) => `${n} drained`), ...Object.entries(weights).map(([n, w]) => `${n} weight ${w}`)];
  return {
    name: typeof o.name === 'string' ? o.name : `${host} ${path}${state.length ? ` (${state.join(', ')})` : ''}`,
    host,
    path,
    expect: exp as LuaPlain,
    request: {
      method: typeof o.method === 'string' ? o.method : undefined,
      query: typeof o.query === 'string' ? o.query : undefined,
      headers,
      client: typeof o.client === 'string' ? o.client : undefined,
      scheme: o.scheme === 'https' ? 'https' : o.scheme === 'http' || o.scheme === undefined ? undefined : badScheme(o.scheme),
      http_version: typeof o.http_version === 'string' ? o.http_version : undefined,
      tls_sni: typeof o.tls_sni === 'string' ? o.tls_sni : o.tls_sni === false ? false : undefined,
    },
    down,
    drained,
    weights,
  };
}

function badScheme(v: LuaPlain): never {
  throw new LpxError('LPX_TEST_USAGE', `a case's scheme must be "http" or "https", got ${JSON.stringify(v)}`);
}

export interface CaseFailure extends Mismatch {
  /** what route returned, in Lua syntax, or the error it raised */
  returned: string;
  traceback?: string;
}

/** run one case from a clean backend state; null when it passes */
export function runCase(script: RoutingScript, c: RouteCase): CaseFailure | null {
  script.reset();
  for (const n of c.down) script.down(n);
  for (const n of c.drained) script.drain(n);
  for (const [n, w] of Object.entries(c.weights)) script.weight(n, w);
  return checkRoute(script, c.host, c.path, c.request, c.expect);
}

/** route one request through the script and compare the decision with `expected`; null when it meets it */
export function checkRoute(script: RoutingScript, host: string, path: string, request: RouteRequest, expected: LuaPlain): CaseFailure | null {
  const { decision, call } = script.decide(host, path, request);
  // without a rewrite, the backend gets the path route saw
  const miss = compare(expected, call.path, decision);
  if (!miss) return null;
  return { ...miss, returned: luaResult(decision), traceback: decision.kind === 'error' ? decision.error.traceback : undefined };
}
