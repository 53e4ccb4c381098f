/**
 * What changes between two versions of a script, over a sample of requests: the share of
 * requests whose destination (backend, direct answer, or no route) changes, each
 * destination's share before and after, and the load spread (busiest backend over the
 * mean). Run before a deploy, it catches the change that moves most hosts at once, such
 * as modulo hashing over a doubled backend list.
 */
import fs from 'node:fs';
import { LpxError } from '../core/errors.js';
import { RoutingScript } from '../routing/routing-script.js';
import { destination } from '../core/decision.js';

export interface SampleRequest {
  host: string;
  path: string;
}

export interface Share {
  /** a backend name, `answer 301`, `no route (404)`, `invalid host (400)` or `error` */
  target: string;
  count: number;
  share: number;
}

export interface DiffResult {
  total: number;
  moved: number;
  /** moved / total, from 0 to 1 */
  movedShare: number;
  before: Share[];
  after: Share[];
  /** busiest backend's requests over the mean per backend (1 is perfectly even); null without backend traffic */
  spread: { before: number | null; after: number | null };
  /** the first few requests that moved */
  examples: Array<SampleRequest & { before: string; after: string }>;
}

/** `host [path]` per line; blank lines and `#` comments skipped */
export function parseSample(text: string, name = 'the sample'): SampleRequest[] {
  const out: SampleRequest[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [host, path = '/', ...rest] = line.split(/\s+/);
    if (rest.length || !path.startsWith('/')) throw new LpxError('LPX_CLI_USAGE', `${name}:${i + 1}: expected "host /path", got ${JSON.stringify(line)}`);
    out.push({ host, path });
  });
  return out;
}

export function readSample(file: string): SampleRequest[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new LpxError('LPX_CLI_USAGE', `--hosts ${file}: cannot read it: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  const s = parseSample(text, file);
  if (s.length === 0) throw new LpxError('LPX_CLI_USAGE', `--hosts ${file}: no requests in it (one "host /path" per line)`);
  return s;
}

/** the sample used without --hosts: `site1.example.com /` ... `site<n>.example.com /`, the same every run */
export function generatedSample(n = 10_000): SampleRequest[] {
  return Array.from({ length: n }, (_, i) => ({ host: `site${i + 1}.example.com`, path: '/' }));
}

export function diffScripts(oldFile: string, newFile: string, sample: SampleRequest[], opts: { seed?: number } = {}): DiffResult {
  if (sample.length === 0) throw new LpxError('LPX_CLI_USAGE', 'the sample of requests is empty');
  const a = RoutingScript.load(oldFile, { seed: opts.seed });
  const b = RoutingScript.load(newFile, { seed: opts.seed });
  const dest = (s: RoutingScript, r: SampleRequest): string => destination(s.decide(r.host, r.path).decision);
  const before = new Map<string, number>();
  const after = new Map<string, number>();
  const examples: DiffResult['examples'] = [];
  let moved = 0;
  for (const r of sample) {
    const x = dest(a, r);
    const y = dest(b, r);
    before.set(x, (before.get(x) ?? 0) + 1);
    after.set(y, (after.get(y) ?? 0) + 1);
    if (x !== y) {
      moved++;
      if (examples.length < 5) examples.push({ ...r, before: x, after: y });
    }
  }
  const total = sample.length;
  return {
    total,
    moved,
    movedShare: moved / total,
    before: shares(before, a.names, total),
    after: shares(after, b.names, total),
    spread: { before: spread(before, a.names), after: spread(after, b.names) },
    examples,
  };
}

/** every backend of the script (even with no requests), then the other destinations */
function shares(counts: Map<string, number>, names: string[], total: number): Share[] {
  const keys = [...names, ...[...counts.keys()].filter((k) => !names.includes(k)).sort()];
  return keys.map((t) => ({ target: t, count: counts.get(t) ?? 0, share: (counts.get(t) ?? 0) / total }));
}

function spread(counts: Map<string, number>, names: string[]): number | null {
  if (names.length === 0) return null;
  const per = names.map((n) => counts.get(n) ?? 0);
  const sum = per.reduce((x, y) => x + y, 0);
  if (sum === 0) return null;
  return Math.max(...per) / (sum / names.length);
}
