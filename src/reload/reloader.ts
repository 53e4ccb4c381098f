/**
 * Hot reload: load the script into a fresh Lua state, validate it (the same checks as
 * `luaproxy check`, a dry run of route() on recent requests, and the script's own tests
 * when it has any), and only then swap it in, in one step. A refused script changes
 * nothing; the error is logged, kept for the admin API, and counted.
 *
 * Reloads are serialized: a trigger that arrives during a reload runs once after it.
 */
import type { Config } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { isLpxError } from '../core/errors.js';

/** what the reloader swaps configs into (the proxy server, or a cluster primary) */
export interface ReloadTarget {
  readonly config: Config;
  swap(next: Config): Promise<void>;
}

/** a recent request, kept to dry-run new scripts and to measure how many hosts move */
export interface Sample {
  host: Uint8Array;
  path: Uint8Array;
}

export interface ReloadResult {
  ok: boolean;
  version: number;
  hash: string;
  trigger: string;
  at: string;
  durationMs: number;
  error?: string;
  code?: string;
  /** share of sampled recent requests whose backend changed */
  moved?: number;
  sampled?: number;
}

export interface ReloaderOptions {
  file: string;
  log: Logger;
  load: (file: string, previous: Config) => Config;
  samples: () => Sample[];
  /** extra checks a new config must pass (the script's own tests) */
  validators?: Array<(cfg: Config) => void>;
  onResult?: (r: ReloadResult) => void;
}

export class Reloader {
  version = 1;
  readonly history: ReloadResult[] = [];
  private running: Promise<ReloadResult> | null = null;
  private pending: Promise<ReloadResult> | null = null;

  constructor(private readonly target: ReloadTarget, private readonly opts: ReloaderOptions) {}

  get last(): ReloadResult | null {
    return this.history[this.history.length - 1] ?? null;
  }

  /** reload now (or right after the reload in progress) */
  reload(trigger: string): Promise<ReloadResult> {
    if (this.running) {
      // every trigger that arrives meanwhile shares one follow-up reload
      this.pending ??= this.running.then(() => { this.pending = null; return this.reload(trigger); });
      return this.pending;
    }
    this.running = this.doReload(trigger).finally(() => { this.running = null; });
    return this.running;
  }

  private async doReload(trigger: string): Promise<ReloadResult> {
    const t0 = performance.now();
    const old = this.target.config;
    const base = { trigger, at: new Date().toISOString() };
    let next: Config;
    try {
      next = this.opts.load(this.opts.file, old);
      const samples = this.opts.samples();
      const dry = dryRun(old, next, samples);
      for (const v of this.opts.validators ?? []) v(next);
      await this.target.swap(next);
      this.version++;
      const r: ReloadResult = { ...base, ok: true, version: this.version, hash: next.hash, durationMs: ms(t0), moved: dry.moved, sampled: dry.sampled };
      this.opts.log.info({ reload: r, files: [...next.files.keys()] }, `reload ${this.version} live (${trigger}): ${next.hash}, ${dry.sampled ? `${(dry.moved * 100).toFixed(1)}% of ${dry.sampled} recent requests change backend` : 'no recent requests to compare'}`);
      return this.record(r);
    } catch (e) {
      const msg = (e as Error).message;
      const r: ReloadResult = { ...base, ok: false, version: this.version, hash: old.hash, durationMs: ms(t0), error: msg, code: isLpxError(e) ? e.code : (e as NodeJS.ErrnoException).code ?? 'LPX_RELOAD_REFUSED' };
      this.opts.log.error({ reload: r }, `reload refused (${trigger}); version ${this.version} keeps serving: ${msg}`);
      return this.record(r);
    }
  }

  private record(r: ReloadResult): ReloadResult {
    this.history.push(r);
    if (this.history.length > 50) this.history.shift();
    this.opts.onResult?.(r);
    return r;
  }
}

function ms(t0: number): number {
  return Math.round((performance.now() - t0) * 100) / 100;
}

const SYNTHETIC: Sample = { host: Buffer.from('example.com'), path: Buffer.from('/') };

/**
 * Route recent requests through the new script. Any error refuses it: a route() that
 * throws, exceeds its budget, or names a backend that does not exist. Also reports the
 * share of those requests whose backend differs from the old script's choice.
 */
export function dryRun(old: Config, next: Config, samples: Sample[]): { moved: number; sampled: number } {
  let moved = 0;
  let compared = 0;
  const all = samples.length ? samples : [SYNTHETIC];
  for (const s of all) {
    const b = next.route(s.host, s.path, null);
    let a: ReturnType<Config['route']> | null = null;
    try { a = old.route(s.host, s.path, null); } catch { a = null; }
    if (a === null || !samples.length) continue;
    compared++;
    const an = a.kind === 'backend' ? a.name : a.kind;
    const bn = b.kind === 'backend' ? b.name : b.kind;
    if (an !== bn) moved++;
  }
  return { moved: compared ? moved / compared : 0, sampled: compared };
}
