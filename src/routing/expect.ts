/**
 * Expectations about one routing decision, shared by the table form, expect_route()
 * and a script's own `tests`. An expectation is a backend name, `false` (no route:
 * 404), or a table naming only what matters: backend, path (as the backend sees it),
 * headers (a value, or false for removed), status, body, or error (text route's error
 * must contain). Fields left out are not compared.
 */
import { LpxError } from '../core/errors.js';
import type { LuaPlain } from '../lua/values.js';
import { describe, luaTable, toResult, type Decision } from '../core/decision.js';

export interface Mismatch {
  expected: string;
  actual: string;
}

const FIELDS = ['backend', 'path', 'headers', 'status', 'body', 'error'];

/** throws LPX_TEST_USAGE when `exp` is not an expectation */
export function checkExpectation(exp: LuaPlain | undefined): void {
  if (exp === undefined || exp === null) throw new LpxError('LPX_TEST_USAGE', 'the case has no expectation; give a backend name, false for no route, or a table like { status = 301 }');
  if (typeof exp === 'string' || exp === false) return;
  if (typeof exp !== 'object' || Array.isArray(exp)) throw new LpxError('LPX_TEST_USAGE', `expected a backend name, false or a table, got ${luaTable(exp)}`);
  const keys = Object.keys(exp);
  for (const k of keys) {
    if (!FIELDS.includes(k)) throw new LpxError('LPX_TEST_USAGE', `unknown field "${k}" in an expectation; use ${FIELDS.join(', ')}`);
  }
  if (keys.length === 0) throw new LpxError('LPX_TEST_USAGE', `an empty expectation table; name at least one of ${FIELDS.join(', ')}`);
  const h = (exp as Record<string, LuaPlain>).headers;
  if (h !== undefined && (typeof h !== 'object' || h === null || (Array.isArray(h) && h.length > 0))) throw new LpxError('LPX_TEST_USAGE', 'expectation headers must be a table of name = value (or false for removed)');
}

export function describeExpected(exp: LuaPlain): string {
  if (typeof exp === 'string') return `backend ${JSON.stringify(exp)}`;
  if (exp === false) return 'no route (route returned nil: 404)';
  const e = exp as Record<string, LuaPlain>;
  const parts: string[] = [];
  if (e.error !== undefined) parts.push(`an error containing ${JSON.stringify(String(e.error))}`);
  if (e.backend !== undefined) parts.push(`backend ${JSON.stringify(e.backend)}`);
  if (e.status !== undefined) parts.push(`answer ${String(e.status)}`);
  if (e.path !== undefined) parts.push(`path ${JSON.stringify(e.path)}`);
  if (e.headers !== undefined) parts.push(`headers ${luaTable(e.headers)}`);
  if (e.body !== undefined) parts.push(`body ${JSON.stringify(e.body)}`);
  return parts.join(', ');
}

/** null when the outcome meets the expectation; `requestPath` is what the backend sees without a rewrite */
export function compare(exp: LuaPlain, requestPath: string, d: Decision): Mismatch | null {
  checkExpectation(exp);
  const miss = (): Mismatch => ({ expected: describeExpected(exp), actual: describe(d) });
  if (typeof exp === 'string') return d.kind === 'backend' && d.name === exp ? null : miss();
  if (exp === false) return d.kind === 'none' ? null : miss();
  const e = exp as Record<string, LuaPlain>;
  if (e.error !== undefined) {
    return d.kind === 'error' && d.error.message.includes(String(e.error)) ? null : miss();
  }
  if (d.kind === 'error') return miss();
  const r = toResult(d);
  if (e.backend !== undefined && !(r.kind === 'backend' && r.backend === e.backend)) return miss();
  if (e.path !== undefined && !(r.kind === 'backend' && (r.path ?? requestPath) === e.path)) return miss();
  if (e.status !== undefined) {
    const status = r.kind === 'backend' ? null : r.status;
    if (status !== e.status) return miss();
  }
  if (e.body !== undefined && !(r.kind === 'respond' && r.body === e.body)) return miss();
  if (e.headers !== undefined) {
    const got = r.kind === 'backend' || r.kind === 'respond' ? r.headers ?? {} : {};
    for (const [k, v] of Object.entries(e.headers as Record<string, LuaPlain>)) {
      const actual = (got as Record<string, string | false>)[k.toLowerCase()];
      if (v === false ? actual !== false : actual !== String(v)) return miss();
    }
  }
  return null;
}

/** deep equality of plain values, for eq() */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) {
    // an empty Lua table reads as [] either way
    return Object.keys(a).length === 0 && Object.keys(b).length === 0;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
