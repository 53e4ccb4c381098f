/**
 * How a test run is shown: `pretty` for people (each failure with its file:line,
 * expected versus actual and what route returned, then `N passed, N failed`), TAP 13
 * and JUnit XML for CI, and the per-file coverage table.
 */
import type { FileCoverage } from '../lua/coverage.js';
import type { RunResult, TestResult } from './runner.js';

export type ReporterName = 'pretty' | 'tap' | 'junit';
export const REPORTERS: readonly ReporterName[] = ['pretty', 'tap', 'junit'];

export function summaryLine(r: RunResult): string {
  return `${r.passed} passed, ${r.failed} failed`;
}

export function pretty(r: RunResult, opts: { verbose?: boolean } = {}): string {
  const out: string[] = [];
  for (const f of r.files) {
    const failed = f.tests.filter((t) => t.failure).length;
    const passed = f.tests.length - failed;
    const script = f.script && f.script !== f.file ? ` (${f.script})` : '';
    out.push(`${failed ? 'FAIL' : 'ok  '} ${f.file}${script}: ${passed} passed${failed ? `, ${failed} failed` : ''}`);
    if (opts.verbose) for (const t of f.tests) out.push(`       ${t.failure ? 'FAIL' : 'ok  '} ${t.name}`);
  }
  const failures = r.files.flatMap((f) => f.tests.filter((t) => t.failure));
  for (const t of failures) out.push('', ...failureLines(t));
  if (r.coverage) out.push('', ...coverageLines(r.coverage));
  out.push('', `${summaryLine(r)} (${Math.round(r.ms)} ms)`);
  return out.join('\n') + '\n';
}

function failureLines(t: TestResult): string[] {
  const f = t.failure!;
  const lines = [`FAIL ${f.where}: ${t.name}`];
  const pad = '     ';
  if (f.expected !== undefined) {
    if (f.message) lines.push(`${pad}${f.message}`);
    lines.push(`${pad}expected: ${f.expected}`, `${pad}actual:   ${f.actual}`);
  } else lines.push(`${pad}${f.message}`);
  if (f.returned !== undefined) lines.push(`${pad}route returned: ${f.returned}`);
  if (f.traceback) lines.push(...f.traceback.split('\n').map((l) => `${pad}${l.replace(/^\t/, '  ')}`));
  if (t.where !== f.where) lines.push(`${pad}(test defined at ${t.where})`);
  return lines;
}

export interface CoverageTotal {
  hit: number;
  executable: number;
  percent: number;
}

export function coverageTotal(files: FileCoverage[]): CoverageTotal {
  const hit = files.reduce((a, f) => a + f.hit.length, 0);
  const executable = files.reduce((a, f) => a + f.executable.length, 0);
  return { hit, executable, percent: executable ? (100 * hit) / executable : 100 };
}

export function coverageLines(files: FileCoverage[]): string[] {
  const width = Math.max(5, ...files.map((f) => f.file.length));
  const row = (name: string, hit: number, all: number, missed: number[] = []) => {
    const pct = all ? (100 * hit) / all : 100;
    const miss = missed.length ? `  missed: ${ranges(missed)}` : '';
    return `  ${name.padEnd(width)}  ${pct.toFixed(1).padStart(5)}%  (${hit}/${all} lines)${miss}`;
  };
  const t = coverageTotal(files);
  return [
    'coverage (lines of the scripts under test that ran):',
    ...files.map((f) => row(f.file, f.hit.length, f.executable.length, f.executable.filter((l) => !f.hit.includes(l)))),
    row('total', t.hit, t.executable),
  ];
}

/** 3,4,5,9 -> "3-5, 9" */
function ranges(lines: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let j = i;
    while (j + 1 < lines.length && lines[j + 1] === lines[j] + 1) j++;
    out.push(j > i ? `${lines[i]}-${lines[j]}` : String(lines[i]));
    i = j;
  }
  return out.join(', ');
}

export function tap(r: RunResult): string {
  const tests = r.files.flatMap((f) => f.tests.map((t) => ({ file: f.file, t })));
  const out = ['TAP version 13', `1..${tests.length}`];
  tests.forEach(({ file, t }, i) => {
    out.push(`${t.failure ? 'not ok' : 'ok'} ${i + 1} - ${file}: ${t.name.replace(/#/g, '\\#')}`);
    if (t.failure) {
      const f = t.failure;
      out.push('  ---', `  at: ${yaml(f.where)}`, `  message: ${yaml(f.message)}`);
      if (f.expected !== undefined) out.push(`  expected: ${yaml(f.expected)}`, `  actual: ${yaml(f.actual ?? '')}`);
      if (f.returned !== undefined) out.push(`  returned: ${yaml(f.returned)}`);
      out.push('  ...');
    }
  });
  out.push(`# ${summaryLine(r)}`);
  return out.join('\n') + '\n';
}

function yaml(s: string): string {
  return JSON.stringify(s);
}

export function junit(r: RunResult): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="luaproxy test" tests="${r.passed + r.failed}" failures="${r.failed}" time="${secs(r.ms)}">`];
  for (const f of r.files) {
    const failed = f.tests.filter((t) => t.failure).length;
    const time = f.tests.reduce((a, t) => a + t.ms, 0);
    out.push(`  <testsuite name="${xml(f.file)}" tests="${f.tests.length}" failures="${failed}" errors="0" skipped="0" time="${secs(time)}">`);
    for (const t of f.tests) {
      const [file, line] = splitWhere(t.where);
      const attrs = `classname="${xml(f.file)}" name="${xml(t.name)}" file="${xml(file)}"${line ? ` line="${line}"` : ''} time="${secs(t.ms)}"`;
      if (!t.failure) {
        out.push(`    <testcase ${attrs}/>`);
        continue;
      }
      const fl = t.failure;
      const summary = fl.expected !== undefined ? `${fl.where}: expected ${fl.expected}, got ${fl.actual}` : `${fl.where}: ${fl.message}`;
      const body = [fl.message, fl.expected !== undefined ? `expected: ${fl.expected}\nactual:   ${fl.actual}` : '', fl.returned !== undefined ? `route returned: ${fl.returned}` : '', fl.traceback ?? '']
        .filter(Boolean).join('\n');
      out.push(`    <testcase ${attrs}>`, `      <failure message="${xml(summary)}" type="routing">${xml(body)}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

function splitWhere(w: string): [string, string | null] {
  const m = /^(.*):(\d+)$/.exec(w);
  return m ? [m[1], m[2]] : [w, null];
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function xml(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');
}
