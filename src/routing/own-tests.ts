/**
 * A script's own tests: an optional `tests` global holding rows in the table form
 * (see cases.ts). `luaproxy test config.lua` runs them, `luaproxy check` runs them, and
 * a hot reload runs them through validateOwnTests() before it swaps the new script in,
 * so a script that breaks its own expectations never goes live.
 */
import path from 'node:path';
import type { Config } from '../config/load.js';
import { SourceLines } from '../config/locate.js';
import { LpxError } from '../core/errors.js';
import type { LuaPlain } from '../lua/values.js';
import { displayPath } from '../core/display-path.js';
import { parseCase, runCase, type RouteCase, type CaseFailure } from './cases.js';
import { entryLines } from './locate-cases.js';
import { RoutingScript } from './routing-script.js';
import type { LineCoverage } from '../lua/coverage.js';

export interface OwnCase {
  /** `file:line` of the row */
  where: string;
  case?: RouteCase;
  /** why the row is not a valid case */
  invalid?: string;
}

/** the rows of the `tests` global, each with its line; [] when the script has none */
export function ownTestCases(cfg: Config): OwnCase[] {
  const v = cfg.script.global('tests');
  if (v === null) return [];
  const display = displayPath(cfg.file);
  const source = cfg.files.get(cfg.file)?.toString('utf8') ?? '';
  const src = new SourceLines(display, source);
  const at = src.global('tests');
  if (!Array.isArray(v)) {
    return [{ where: `${display}:${at ?? 1}`, invalid: 'tests must be a list of cases like { { "IronHand.example.com", "/", "web2" }, ... }' }];
  }
  const lines = entryLines(source, at ?? 1, 'tests');
  return v.map((row: LuaPlain, i) => {
    const where = `${display}:${lines[i] ?? at ?? 1}`;
    try {
      return { where, case: parseCase(row) };
    } catch (e) {
      return { where, invalid: (e as Error).message };
    }
  });
}

export interface OwnCaseResult {
  own: OwnCase;
  failure: (CaseFailure | { expected?: undefined; actual?: undefined; returned?: undefined; message: string }) | null;
}

/**
 * Run the rows against a fresh copy of the script (backends all up, randomness seeded),
 * never against `cfg` itself: its backend states may be shared with the live config.
 */
export function runOwnTests(cfg: Config, opts: { coverage?: LineCoverage; seed?: number; timeMs?: number } = {}): OwnCaseResult[] {
  const rows = ownTestCases(cfg);
  if (rows.length === 0) return [];
  const start = performance.now();
  const script = RoutingScript.load(cfg.file, { sources: cfg.files, overrides: cfg.overrides, coverage: opts.coverage, seed: opts.seed });
  return rows.map((own, i) => {
    // a reload runs these in the live process: every row has its budget, and the run as a whole has one too
    if (opts.timeMs !== undefined && performance.now() - start > opts.timeMs) {
      throw new LpxError('LPX_RELOAD_REFUSED', `${own.where}: the script's own tests took more than script.own_tests_time (${opts.timeMs / 1000} s) after ${i} of ${rows.length} rows; make them cheaper or fewer`, { where: own.where });
    }
    if (own.invalid) return { own, failure: { message: own.invalid } };
    try {
      return { own, failure: runCase(script, own.case!) };
    } catch (e) {
      return { own, failure: { message: (e as Error).message } };
    }
  });
}

/**
 * Run the tests a script defines in its own `tests` global, if any. Throws
 * LpxError('LPX_RELOAD_REFUSED', 'config.lua:NN: ...') at the first failing row.
 */
export function validateOwnTests(cfg: Config): void {
  let results: OwnCaseResult[];
  try {
    results = runOwnTests(cfg, { timeMs: cfg.settings.script.own_tests_time * 1000 });
  } catch (e) {
    if (e instanceof LpxError && e.code === 'LPX_RELOAD_REFUSED') throw e;
    throw new LpxError('LPX_RELOAD_REFUSED', `${displayPath(cfg.file)}: cannot run the script's own tests: ${(e as Error).message}`, { cause: e });
  }
  const failed = results.filter((r) => r.failure);
  if (failed.length === 0) return;
  const { own, failure } = failed[0];
  const what = own.case ? `route(${JSON.stringify(own.case.host)}, ${JSON.stringify(own.case.path)})` : 'a test';
  const detail = failure!.expected !== undefined ? `expected ${failure!.expected}, got ${failure!.actual}` : failure!.message;
  const more = failed.length > 1 ? ` (${failed.length} of ${results.length} tests failed)` : '';
  throw new LpxError('LPX_RELOAD_REFUSED', `${own.where}: own test failed: ${what}: ${detail}${more}`, { where: own.where });
}

/** the test files beside a script that follow the naming convention */
export function conventionalTestFiles(scriptFile: string): string[] {
  const dir = path.dirname(scriptFile);
  const base = path.basename(scriptFile, '.lua');
  return [`${base}_test.lua`, `${base}.test.lua`, `${base}_spec.lua`].map((f) => path.join(dir, f));
}
