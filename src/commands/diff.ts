/** `luaproxy diff old.lua new.lua`: the share of requests a new script version sends elsewhere. */
import type { Command } from 'commander';
import { LpxError } from '../core/errors.js';
import { displayPath } from '../core/display-path.js';
import { diffScripts, generatedSample, readSample, type DiffResult } from '../testing/diff.js';
import path from 'node:path';

export interface DiffCommandOptions {
  hosts?: string;
  maxMoved?: string;
  json?: boolean;
  seed?: string;
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare where two versions of a script send a sample of requests; exit 1 when more than --max-moved change backend')
    .argument('<old>', 'the script as it runs now')
    .argument('<new>', 'the version about to go live')
    .option('--hosts <file>', 'the sample: one "host /path" per line (default: 10,000 generated hosts site1.example.com ...)')
    .option('--max-moved <share>', 'fail above this share of moved requests: 0.3 or 30%')
    .option('--json', 'print the result as JSON')
    .option('--seed <n>', 'seed for proxy.random', '1')
    .addHelpText('after', `
Examples:
  $ luaproxy diff config.lua config.new.lua --hosts top-hosts.txt
  $ luaproxy diff config.lua config.new.lua --max-moved 0.3 && deploy config.new.lua`)
    .action((oldFile: string, newFile: string, o: DiffCommandOptions) => {
      const { code, output } = diffCommand(oldFile, newFile, o);
      process.stdout.write(output);
      process.exitCode = code;
    });
}

export function parseShare(v: string): number {
  const pct = v.endsWith('%');
  const n = Number(pct ? v.slice(0, -1) : v);
  const share = pct ? n / 100 : n;
  if (!Number.isFinite(share) || share < 0 || share > 1) throw new LpxError('LPX_CLI_USAGE', `--max-moved: expected a share from 0 to 1 (0.3) or a percentage (30%), got "${v}"`);
  return share;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function diffCommand(oldFile: string, newFile: string, o: DiffCommandOptions = {}): { code: number; output: string; result: DiffResult } {
  const max = o.maxMoved === undefined ? null : parseShare(o.maxMoved);
  const seed = Number(o.seed ?? 1);
  const sample = o.hosts ? readSample(o.hosts) : generatedSample();
  const r = diffScripts(oldFile, newFile, sample, { seed });
  const over = max !== null && r.movedShare > max;
  if (o.json) {
    return { code: over ? 1 : 0, output: JSON.stringify({ ...r, maxMoved: max, ok: !over }, null, 2) + '\n', result: r };
  }
  const lines = [`moved: ${pct(r.movedShare)} of ${r.total} requests go to a different backend (${r.moved})`];
  lines.push(`sample: ${o.hosts ? displayPath(path.resolve(o.hosts)) : `${r.total} generated hosts (site1.example.com ...)`}`);
  const targets = [...new Set([...r.before.map((s) => s.target), ...r.after.map((s) => s.target)])];
  const width = Math.max(8, ...targets.map((t) => t.length));
  const cell = (s: { count: number; share: number } | undefined) => (s && s.count ? `${String(s.count).padStart(6)} ${pct(s.share).padStart(6)}` : `${'-'.padStart(6)} ${''.padStart(6)}`);
  lines.push('', `${'backend'.padEnd(width)}  ${'before'.padStart(13)}  ${'after'.padStart(13)}`);
  for (const t of targets) lines.push(`${t.padEnd(width)}  ${cell(r.before.find((s) => s.target === t))}  ${cell(r.after.find((s) => s.target === t))}`);
  const sp = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  lines.push('', `load spread (busiest backend / mean): before ${sp(r.spread.before)}, after ${sp(r.spread.after)}`);
  if (r.examples.length) {
    lines.push('', 'for example:');
    for (const e of r.examples) lines.push(`  ${e.host} ${e.path}: ${e.before} -> ${e.after}`);
  }
  if (max !== null) {
    lines.push('', over
      ? `FAIL: ${pct(r.movedShare)} moved, above --max-moved ${pct(max)}`
      : `ok: ${pct(r.movedShare)} moved, within --max-moved ${pct(max)}`);
  }
  return { code: over ? 1 : 0, output: lines.join('\n') + '\n', result: r };
}
