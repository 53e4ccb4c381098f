/** `luaproxy test [files...]`: run routing tests written in Lua, with no sockets opened. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { LpxError } from '../core/errors.js';
import { runTests, TEST_FILE, type RunResult } from '../testing/runner.js';
import { pretty, tap, junit, coverageTotal, REPORTERS, type ReporterName } from '../testing/reporters.js';

export interface TestCommandOptions {
  script?: string;
  reporter?: string;
  junit?: string;
  coverage?: boolean;
  minCoverage?: string;
  seed?: string;
  filter?: string;
  verbose?: boolean;
}

export function registerTest(program: Command): void {
  program
    .command('test')
    .description('run routing tests written in Lua against their scripts, with no sockets opened')
    .argument('[paths...]', 'test files (X_test.lua tests X.lua beside it), scripts (run their own `tests` and X_test.lua), or folders to search', ['.'])
    .option('--script <file>', 'the script under test, instead of the one each test file names')
    .option('--reporter <name>', `output format: ${REPORTERS.join(', ')}`, 'pretty')
    .option('--junit <file>', 'also write JUnit XML to this file (for CI)')
    .option('--coverage', 'report which lines of the scripts ran, per file')
    .option('--min-coverage <percent>', 'fail when line coverage of the scripts is below this (implies --coverage)')
    .option('--seed <n>', 'seed for proxy.random', '1')
    .option('--filter <text>', 'run only tests whose name contains this text')
    .addHelpText('after', `
Examples:
  $ luaproxy test                                  # every *_test.lua under the current folder
  $ luaproxy test examples/hosting_test.lua --coverage
  $ luaproxy test config.lua --min-coverage 90 --junit report.xml`)
    .action((paths: string[], o: TestCommandOptions, cmd: Command) => {
      // --verbose (a program option) lists every test, not only the failures
      const { code, output } = testCommand(paths, { ...o, verbose: Boolean(cmd.optsWithGlobals().verbose) });
      process.stdout.write(output);
      process.exitCode = code;
    });
}

/** what `luaproxy test` prints and its exit code; 0 only when every test passed */
export function testCommand(paths: string[], o: TestCommandOptions = {}): { code: number; output: string; result: RunResult } {
  const reporter = (o.reporter ?? 'pretty') as ReporterName;
  if (!REPORTERS.includes(reporter)) throw new LpxError('LPX_CLI_USAGE', `--reporter: expected one of ${REPORTERS.join(', ')}, got "${o.reporter}"`);
  const min = o.minCoverage === undefined ? null : Number(String(o.minCoverage).replace(/%$/, ''));
  if (min !== null && !(min >= 0 && min <= 100)) throw new LpxError('LPX_CLI_USAGE', `--min-coverage: expected a percentage from 0 to 100, got "${o.minCoverage}"`);
  const seed = Number(o.seed ?? 1);
  if (!Number.isInteger(seed)) throw new LpxError('LPX_CLI_USAGE', `--seed: expected an integer, got "${o.seed}"`);
  const where = paths.length ? paths : ['.'];
  const files = findTestFiles(where);
  if (files.length === 0) throw new LpxError('LPX_CLI_USAGE', `no tests found in ${where.join(', ')} (test files are named X_test.lua, X.test.lua or X_spec.lua)`);
  const result = runTests(files, { script: o.script, coverage: o.coverage || min !== null, seed, filter: o.filter });
  let output = reporter === 'tap' ? tap(result) : reporter === 'junit' ? junit(result) : pretty(result, { verbose: o.verbose });
  if (o.junit) fs.writeFileSync(o.junit, junit(result));
  let code = result.failed > 0 ? 1 : 0;
  if (min !== null && result.coverage) {
    const t = coverageTotal(result.coverage);
    if (t.percent + 1e-9 < min) {
      output += `coverage ${t.percent.toFixed(1)}% is below --min-coverage ${min}%\n`;
      code = 1;
    }
  }
  return { code, output, result };
}

/** files as given; folders searched for test files (node_modules and dot folders skipped) */
export function findTestFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (TEST_FILE.test(e.name)) out.push(p);
    }
  };
  for (const p of paths) {
    let st: fs.Stats | null = null;
    try { st = fs.statSync(p); } catch { /* reported by the runner as missing */ }
    if (st?.isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}
