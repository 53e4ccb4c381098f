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
import { LpxError, isLpxError } from '../core/errors.js';

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
  /** the version live after this attempt (unchanged when refused) */
  version: number;
  /** content hash of the live script's files after this attempt */
  hash: string;
  /** what asked for the reload: file, SIGHUP, admin, ... */
  trigger: string;
  at: string;
  durationMs: number;
  /** the refusal, starting with `file:line:` when the script is at fault */
  error?: string;
  code?: string;
  /** `file:line` of the refusal, when known */
  where?: string;
  /** the hash of the refused script, when it got as far as loading */
  refusedHash?: string;
  /** share of the sampled recent hosts whose backend changed */
  moved?: number;
  /** how many distinct recent hosts were compared */
  sampled?: number;
  /** true when a file save left the script's content as it was: nothing was swapped */
  unchanged?: boolean;
}

export type Validator = (cfg: Config) => void | Promise<void>;

export interface ReloaderOptions {
  file: string;
  log: Logger;
  load: (file: string, previous: Config) => Config;
  samples: () => Sample[];
  /** extra checks a new config must pass (the script's own tests); throw to refuse */
  validators?: Validator[];
  onResult?: (r: ReloadResult) => void;
}

export class Reloader {
  /** the live version: 1 for the script the proxy started with, +1 per swap */
  version = 1;
  /** when the live version went live */
  liveSince = new Date().toISOString();
  /** the last 50 attempts, oldest first */
  readonly history: ReloadResult[] = [];
  /** attempts since start (history is bounded; these are not) */
  readonly counts = { ok: 0, refused: 0 };
  private running: Promise<ReloadResult> | null = null;
  private pending: Promise<ReloadResult> | null = null;

  constructor(private readonly target: ReloadTarget, private readonly opts: ReloaderOptions) {}

  get last(): ReloadResult | null {
    return this.history[this.history.length - 1] ?? null;
  }

  /** the last refusal, if any (stays visible after later successes) */
  get lastRefused(): ReloadResult | null {
    for (let i = this.history.length - 1; i >= 0; i--) if (!this.history[i].ok) return this.history[i];
    return null;
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
    let next: Config | null = null;
    let stage: 'load' | 'check' | 'swap' = 'load';
    try {
      next = this.opts.load(this.opts.file, old);
      stage = 'check';
      if (trigger === 'file' && next.hash === old.hash && this.last?.ok !== false) {
        // an editor touched the file, or another .lua file in the folder changed: nothing to do
        this.opts.log.debug({ trigger, hash: old.hash }, `reload skipped (${trigger}): the script's files are unchanged`);
        return { ...base, ok: true, unchanged: true, version: this.version, hash: old.hash, durationMs: ms(t0) };
      }
      const dry = dryRun(old, next, this.opts.samples());
      for (const v of this.opts.validators ?? []) await v(next);
      stage = 'swap';
      await this.target.swap(next);
      this.version++;
      this.liveSince = base.at;
      const r: ReloadResult = { ...base, ok: true, version: this.version, hash: next.hash, durationMs: ms(t0), moved: dry.moved, sampled: dry.sampled };
      this.counts.ok++;
      const share = dry.sampled ? `${(dry.moved * 100).toFixed(1)}% of ${dry.sampled} recent host${dry.sampled === 1 ? '' : 's'} change backend` : 'no recent hosts to compare';
      for (const w of next.warnings) this.opts.log.warn(w);
      this.opts.log.info({ reload: r, files: [...next.files.keys()] }, `reload: version ${this.version} live (${trigger}), hash ${next.hash}, ${r.durationMs} ms; ${share}`);
      return this.record(r);
    } catch (e) {
      const err = e as Error & { code?: string; where?: string };
      const r: ReloadResult = {
        ...base, ok: false, version: this.version, hash: old.hash, durationMs: ms(t0),
        error: err.message, code: isLpxError(e) ? e.code : stage === 'swap' ? 'LPX_RELOAD_LISTEN' : 'LPX_RELOAD_REFUSED',
      };
      if (err.where) r.where = err.where;
      if (next) r.refusedHash = next.hash;
      this.counts.refused++;
      this.opts.log.error({ reload: r, traceback: (e as LpxError).traceback }, `reload refused (${trigger}); version ${this.version} (${old.hash}) keeps serving: ${err.message}`);
      return this.record(r);
    }
  }

  private record(r: ReloadResult): ReloadResult {
    this.history.push(r);
    if (this.history.length > 50) this.history.shift();
    try {
      this.opts.onResult?.(r);
    } catch (e) {
      // a listener's failure must not turn a swap that happened into a refusal
      this.opts.log.error({ err: e }, `after reload ${r.version}: ${(e as Error).message}`);
    }
    return r;
  }
}

function ms(t0: number): number {
  return Math.round((performance.now() - t0) * 100) / 100;
}

const SYNTHETIC: Sample = { host: Buffer.from('example.com'), path: Buffer.from('/') };
/** the dry run blocks the event loop: a few distinct requests, within a time budget, are enough */
const DRY_RUN_MAX = 64;
const DRY_RUN_MS = 250;

type Decision = ReturnType<Config['route']>;

function label(d: Decision): string {
  return d.kind === 'backend' ? `backend:${d.name}` : d.kind === 'respond' ? `status:${d.status}` : 'none';
}

/**
 * Route recent requests (the newest first, each distinct host and path once, at most
 * DRY_RUN_MAX of them or DRY_RUN_MS of work) through the new script. Any
 * error refuses it: a route() that throws, exceeds its budget, or names a backend that
 * does not exist. Also reports the share of distinct recent hosts whose decision differs
 * from the old script's.
 */
export function dryRun(old: Config, next: Config, samples: Sample[]): { moved: number; sampled: number } {
  const all = samples.length ? samples : [SYNTHETIC];
  const seen = new Set<string>();
  /** host -> [old decision, new decision] of its most recent sample */
  const byHost = new Map<string, [string | null, string]>();
  const t0 = performance.now();
  for (let i = all.length - 1; i >= 0 && seen.size < DRY_RUN_MAX; i--) {
    if (seen.size > 0 && performance.now() - t0 > DRY_RUN_MS) break;
    const s = all[i];
    const host = Buffer.from(s.host.buffer, s.host.byteOffset, s.host.length).toString('latin1');
    const path = Buffer.from(s.path.buffer, s.path.byteOffset, s.path.length).toString('latin1');
    const key = `${host}\0${path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // route() sees a plain GET for the sample; scripts that read req get real values
    const req = { method: 'GET', url: path, headers: { host }, socket: { remoteAddress: '127.0.0.1' } };
    let b: Decision;
    try {
      b = next.route(s.host, s.path, req);
    } catch (e) {
      const err = e as Error & { where?: string; traceback?: string };
      const msg = `${err.message} (dry run of route(${JSON.stringify(host)}, ${JSON.stringify(path)}) on a recent request)`;
      throw new LpxError(isLpxError(e) ? e.code : 'LPX_ROUTE_ERROR', msg, { cause: e, where: err.where, traceback: err.traceback });
    }
    if (!samples.length || byHost.has(host)) continue;
    let a: string | null;
    try { a = label(old.route(s.host, s.path, req)); } catch { a = null; }
    byHost.set(host, [a, label(b)]);
  }
  let moved = 0;
  let compared = 0;
  for (const [a, b] of byHost.values()) {
    if (a === null) continue;
    compared++;
    if (a !== b) moved++;
  }
  return { moved: compared ? moved / compared : 0, sampled: compared };
}
