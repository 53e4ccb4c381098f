/**
 * The routing-test runner behind `luaproxy test`. A test file (`X_test.lua` tests `X.lua`
 * beside it) runs once in its own sandboxed Lua state to register tests: `routes { ... }`
 * rows and `test(name, fn)` functions. Each function test then runs against a freshly
 * loaded copy of the script, each `routes` block against one fresh copy reset before
 * every row, so no test sees state another left behind. No socket is opened.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LUA_LIB_DIR } from '../config/load.js';
import { LpxError } from '../core/errors.js';
import { LineCoverage, type FileCoverage } from '../lua/coverage.js';
import { TestState, LuaCallable, type HostArg } from '../lua/test-state.js';
import type { LuaPlain } from '../lua/values.js';
import { displayPath } from '../core/display-path.js';
import type { BudgetLimits } from '../lua/budget.js';
import { parseCase, runCase, checkRoute, type RouteCase } from '../routing/cases.js';
import { deepEqual } from '../routing/expect.js';
import { entryLines } from '../routing/locate-cases.js';
import { conventionalTestFiles, runOwnTests } from '../routing/own-tests.js';
import { RoutingScript, type RouteRequest } from '../routing/routing-script.js';
import { luaTable } from '../core/decision.js';
import { loadConfig } from '../config/load.js';

export interface Failure {
  /** `file:line` of the failing expectation (or of the error) */
  where: string;
  message: string;
  expected?: string;
  actual?: string;
  /** what route returned, in Lua syntax */
  returned?: string;
  traceback?: string;
}

export interface TestResult {
  name: string;
  /** where the test or row is defined */
  where: string;
  failure: Failure | null;
  ms: number;
}

export interface FileResult {
  /** the test file (or the script, for its own `tests`) as displayed */
  file: string;
  /** the script under test */
  script: string | null;
  tests: TestResult[];
}

export interface RunResult {
  files: FileResult[];
  passed: number;
  failed: number;
  /** per file, when coverage was asked for */
  coverage: FileCoverage[] | null;
  ms: number;
}

export interface RunOptions {
  /** the script under test, instead of the one named by the test file */
  script?: string;
  /** record which script lines run */
  coverage?: boolean;
  /** seed for proxy.random (default 1) */
  seed?: number;
  /** only tests whose name contains this text */
  filter?: string;
  /** print() and proxy.log() output from the script and the tests */
  log?: (level: string, msg: string, where: string) => void;
}

/** limits for running test code (the script itself runs under its own limits) */
const TEST_LIMITS: BudgetLimits = { instructions: 200_000_000, timeMs: 10_000, heapBytes: 512 * 1024 * 1024, maxString: 16 * 1024 * 1024, matchSteps: 1_000_000 };

export const TEST_FILE = /(_test|\.test|_spec)\.lua$/;

/** run test files (and scripts' own `tests`); see RunOptions */
export function runTests(files: string[], opts: RunOptions = {}): RunResult {
  const t0 = performance.now();
  const coverage = opts.coverage ? new LineCoverage() : undefined;
  const out: FileResult[] = [];
  for (const f of files) {
    if (TEST_FILE.test(f) || opts.script) out.push(runTestFile(f, opts, coverage));
    else out.push(...runScript(f, opts, coverage));
  }
  let passed = 0;
  let failed = 0;
  for (const f of out) for (const t of f.tests) t.failure ? failed++ : passed++;
  return { files: out, passed, failed, coverage: coverage ? coverage.report() : null, ms: performance.now() - t0 };
}

/** the script a test file tests: `script = "..."` in the file, else X.lua for X_test.lua */
export function scriptFor(testFile: string, declared: LuaPlain): string {
  if (typeof declared === 'string') return path.resolve(path.dirname(testFile), declared);
  return testFile.replace(TEST_FILE, '.lua');
}

interface Registered {
  name: string;
  where: string;
  fn?: LuaCallable;
  /** rows of one routes{} block share a script load */
  block?: number;
  row?: RouteCase;
  invalid?: string;
}

export function runTestFile(file: string, opts: RunOptions = {}, coverage?: LineCoverage): FileResult {
  const abs = path.resolve(file);
  const display = displayPath(abs);
  const result: FileResult = { file: display, script: null, tests: [] };
  const broken = (where: string, message: string, traceback?: string) => {
    result.tests.push({ name: '(loading)', where, failure: { where, message, traceback }, ms: 0 });
    return result;
  };
  let source: string;
  try {
    source = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    return broken(display, `cannot read the test file: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }

  const registered: Registered[] = [];
  let blocks = 0;
  let current: RoutingScript | null = null;
  let pending: Failure | null = null;
  let scriptTraceback: string | undefined;
  const state = new TestState({ file: abs, libDir: LUA_LIB_DIR, log: opts.log, limits: TEST_LIMITS });

  const need = (fn: string): RoutingScript => {
    if (!current) throw new Error(`${fn}() can only be called inside a test(name, function() ... end)`);
    return current;
  };
  const str = (v: HostArg, what: string): string => {
    if (typeof v !== 'string') throw new Error(`${what}: string expected, got ${v === undefined || v === null ? 'nil' : typeof v === 'object' ? 'a table' : typeof v}`);
    return v;
  };
  const request = (v: HostArg): RouteRequest => {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || v instanceof LuaCallable) throw new Error('req: a table like { method = "POST", headers = { ... } } expected');
    const o = v as Record<string, LuaPlain>;
    const headers: Record<string, string> = {};
    if (o.headers && typeof o.headers === 'object') for (const [k, x] of Object.entries(o.headers)) headers[k] = String(x);
    const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
    const scheme = s('scheme');
    if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') throw new Error(`req.scheme: "http" or "https" expected, got ${JSON.stringify(scheme)}`);
    return { method: s('method'), query: s('query'), client: s('client'), scheme, http_version: s('http_version'), tls_sni: o.tls_sni === false ? false : s('tls_sni'), headers };
  };
  const fail = (where: string, f: Omit<Failure, 'where'>): never => {
    pending ??= { where, ...f };
    throw new Error(f.expected !== undefined ? `expected ${f.expected}, got ${f.actual}` : f.message);
  };

  state.define('test', ([name, fn], where) => {
    const n = str(name, 'test: the name');
    if (!(fn instanceof LuaCallable)) throw new Error(`test "${n}": a function expected as the second argument`);
    registered.push({ name: n, where, fn });
  });
  state.define('routes', (args, where) => {
    const [group, rows] = args.length >= 2 ? [str(args[0], 'routes: the name'), args[1]] : [null, args[0]];
    if (!Array.isArray(rows)) throw new Error('routes: a list of cases expected, like routes { { "IronHand.example.com", "/", "web2" }, ... }');
    const line = Number(/:(\d+)$/.exec(where)?.[1] ?? 1);
    const lines = entryLines(source, line, 'routes');
    const block = blocks++;
    rows.forEach((row, i) => {
      const w = `${display}:${lines[i] ?? line}`;
      try {
        const c = parseCase(row);
        registered.push({ name: group ? `${group}: ${c.name}` : c.name, where: w, block, row: c });
      } catch (e) {
        registered.push({ name: group ? `${group}: row ${i + 1}` : `row ${i + 1}`, where: w, block, invalid: (e as Error).message });
      }
    });
  });
  state.define('route', ([host, p, req]) => {
    const s = need('route');
    try {
      return s.route(str(host, 'route: host'), p === undefined || p === null ? '/' : str(p, 'route: path'), request(req));
    } catch (e) {
      scriptTraceback = (e as LpxError).traceback;
      throw e;
    }
  });
  state.define('expect_route', ([host, p, expected, req], where) => {
    const s = need('expect_route');
    const h = str(host, 'expect_route: host');
    const pathArg = p === undefined || p === null ? '/' : str(p, 'expect_route: path');
    if (expected instanceof LuaCallable) throw new Error('expect_route: the expectation cannot be a function');
    const miss = checkRoute(s, h, pathArg, request(req), expected ?? null);
    if (miss) fail(where, { message: `route(${JSON.stringify(h)}, ${JSON.stringify(pathArg)})`, ...miss });
  });
  state.define('eq', ([actual, expected, msg], where) => {
    if (!deepEqual(plainOf(actual), plainOf(expected))) {
      fail(where, { message: typeof msg === 'string' ? msg : 'values differ', expected: luaTable(plainOf(expected)), actual: luaTable(plainOf(actual)) });
    }
  });
  state.define('ok', ([v, msg], where) => {
    if (v === null || v === false || v === undefined) fail(where, { message: typeof msg === 'string' ? msg : `ok(): expected a true value, got ${luaTable(v ?? null)}` });
  });
  state.define('down', ([n]) => void need('down').down(str(n, 'down: backend name')));
  state.define('up', ([n]) => void need('up').up(str(n, 'up: backend name')));
  state.define('drain', ([n]) => void need('drain').drain(str(n, 'drain: backend name')));
  state.define('weight', ([n, w]) => void need('weight').weight(str(n, 'weight: backend name'), w as number));
  state.define('reset', () => void need('reset').reset());
  state.define('backends', () => need('backends').backends());
  state.define('tls_allow', ([host]) => need('tls_allow').tlsAllow(str(host, 'tls_allow: host name')));
  state.define('call', ([name, ...rest]) => {
    const values = need('call').call(str(name, 'call: function name'), ...rest.map(plainOf));
    return values.length <= 1 ? values[0] ?? null : values;
  });
  state.setGlobal('NO_ROUTE', false);

  try {
    state.run(source);
  } catch (e) {
    const err = e as LpxError;
    return broken(whereIn(err.message) ?? display, err.message, err.traceback);
  }

  const scriptFile = opts.script ? path.resolve(opts.script) : scriptFor(abs, state.global('script'));
  result.script = displayPath(scriptFile);
  if (!fs.existsSync(scriptFile)) {
    return broken(display, `no script to test: ${displayPath(scriptFile)} does not exist (name it beside the test file as X.lua for X_test.lua, set script = "config.lua" in the test file, or pass --script)`);
  }
  let scriptSource: Buffer;
  try {
    scriptSource = fs.readFileSync(scriptFile);
  } catch (e) {
    return broken(display, `cannot read ${displayPath(scriptFile)}: ${(e as Error).message}`);
  }
  const load = () => RoutingScript.load(scriptFile, { source: scriptSource, coverage, seed: opts.seed, log: opts.log });

  let blockScript: { block: number; script: RoutingScript } | null = null;
  for (const t of registered) {
    if (opts.filter && !t.name.includes(opts.filter)) continue;
    const t0 = performance.now();
    let failure: Failure | null = null;
    try {
      if (t.invalid) failure = { where: t.where, message: `not a valid case: ${t.invalid}` };
      else if (t.row) {
        if (!blockScript || blockScript.block !== t.block) blockScript = { block: t.block!, script: load() };
        const f = runCase(blockScript.script, t.row);
        if (f) failure = { where: t.where, message: `route(${JSON.stringify(t.row.host)}, ${JSON.stringify(t.row.path)})`, ...f };
      } else {
        current = load();
        pending = null;
        scriptTraceback = undefined;
        const err = state.call(t.fn!);
        if (pending) failure = pending;
        else if (err) failure = { where: whereIn(err.message) ?? t.where, message: err.message, traceback: scriptTraceback ?? err.traceback };
      }
    } catch (e) {
      const err = e as LpxError;
      failure = { where: whereIn(err.message) ?? t.where, message: err.message, traceback: err.traceback };
    } finally {
      current = null;
    }
    result.tests.push({ name: t.name, where: t.where, failure, ms: performance.now() - t0 });
  }
  if (registered.length === 0) return broken(display, 'the file defines no tests; add routes { ... } or test("name", function() ... end)');
  return result;
}

/** a script given on the command line: its own `tests`, and its conventional test files */
function runScript(file: string, opts: RunOptions, coverage?: LineCoverage): FileResult[] {
  const abs = path.resolve(file);
  const display = displayPath(abs);
  const out: FileResult[] = [];
  const siblings = conventionalTestFiles(abs).filter((f) => fs.existsSync(f));
  const own: FileResult = { file: display, script: display, tests: [] };
  try {
    const cfg = loadConfig(abs, { log: () => {} });
    for (const r of runOwnTests(cfg, { coverage, seed: opts.seed })) {
      const name = r.own.case?.name ?? 'tests';
      if (opts.filter && !name.includes(opts.filter)) continue;
      const f = r.failure;
      const failure: Failure | null = f === null ? null : 'returned' in f && f.returned !== undefined
        ? { where: r.own.where, message: `route(${JSON.stringify(r.own.case!.host)}, ${JSON.stringify(r.own.case!.path)})`, expected: f.expected, actual: f.actual, returned: f.returned, traceback: (f as { traceback?: string }).traceback }
        : { where: r.own.where, message: f.message ?? 'failed' };
      own.tests.push({ name, where: r.own.where, failure, ms: 0 });
    }
  } catch (e) {
    const err = e as LpxError;
    own.tests.push({ name: '(loading)', where: whereIn(err.message) ?? display, failure: { where: whereIn(err.message) ?? display, message: err.message, traceback: err.traceback }, ms: 0 });
  }
  if (own.tests.length > 0) out.push(own);
  for (const f of siblings) out.push(runTestFile(f, opts, coverage));
  if (out.length === 0) {
    out.push({ file: display, script: display, tests: [{ name: '(no tests)', where: display, failure: { where: display, message: `no tests for ${display}: it has no tests = { ... } and there is no ${path.basename(conventionalTestFiles(abs)[0])} beside it` }, ms: 0 }] });
  }
  return out;
}

function whereIn(message: string): string | undefined {
  return /^(.+?\.lua:\d+):/.exec(message)?.[1];
}

function plainOf(v: HostArg): LuaPlain {
  if (v === undefined) return null;
  if (v instanceof LuaCallable) return `<function ${v.where}>`;
  return v;
}

