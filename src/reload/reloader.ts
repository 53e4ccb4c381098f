/**
 * Hot reload: load the script into a fresh Lua state, pass it through the gate
 * (src/routing/gate.ts: its own tests), and hand it to the target, which dry-runs it on
 * recent requests and swaps it in, in one step (one process), or has every worker do so
 * in two phases (a cluster). A refused script changes nothing; the error is logged, kept
 * for the admin API, and counted.
 *
 * Every trigger is held to the blast-radius guard (reload.max_failing, reload.max_moved;
 * reload.fleet_max_moved for a version from the fleet store), checked by the target on
 * its dry run before it swaps; `force` lifts it for one reload.
 *
 * Reloads are serialized: a trigger that arrives during a reload runs once after it.
 */
import type { Config } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { LpxError, isLpxError } from '../core/errors.js';
import { checkCandidate, guardOf, type DryRun, type Guard } from '../routing/gate.js';

/** what the reloader swaps configs into (a proxy process, or a cluster primary) */
export interface ReloadTarget {
  readonly config: Config;
  /** dry-run `next` on recent requests, hold the dry run to `guard` (gate.ts checkGuard), and swap it in, or throw and change nothing */
  swap(next: Config, guard: Guard | null): Promise<DryRun>;
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
  /** of `succeeded` distinct recent successful requests, the share the new version would answer 404 or 5xx */
  failing?: number;
  succeeded?: number;
  /** the guard was lifted (reload --force, push --force) */
  forced?: boolean;
  /** true when a file save left the script's content as it was: nothing was swapped */
  unchanged?: boolean;
}

export interface ReloaderOptions {
  file: string;
  log: Logger;
  load: (file: string, previous: Config) => Config;
  onResult?: (r: ReloadResult) => void;
  /** where new versions come from: a file (reload.max_moved applies) or the fleet store (reload.fleet_max_moved) */
  from?: 'file' | 'fleet';
}

export interface ReloadOptions {
  /** lift the blast-radius guard (max_failing, max_moved) for this reload */
  force?: boolean;
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
  private pendingForce = false;

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
  reload(trigger: string, opts: ReloadOptions = {}): Promise<ReloadResult> {
    if (this.running) {
      // every trigger that arrives meanwhile shares one follow-up reload (forced when any of them asked)
      this.pendingForce ||= Boolean(opts.force);
      this.pending ??= this.running.then(() => {
        const force = this.pendingForce;
        this.pending = null;
        this.pendingForce = false;
        return this.reload(trigger, { force });
      });
      return this.pending;
    }
    this.running = this.doReload(trigger, Boolean(opts.force)).finally(() => { this.running = null; });
    return this.running;
  }

  private async doReload(trigger: string, force: boolean): Promise<ReloadResult> {
    const t0 = performance.now();
    const old = this.target.config;
    const base = { trigger, at: new Date().toISOString() };
    let next: Config | null = null;
    let stage: 'load' | 'check' | 'swap' = 'load';
    try {
      next = this.opts.load(this.opts.file, old);
      stage = 'check';
      if ((trigger === 'file' || trigger === 'fleet') && next.hash === old.hash && this.last?.ok !== false) {
        // an editor touched the file, or another .lua file in the folder changed: nothing to do
        this.opts.log.debug({ trigger, hash: old.hash }, `reload skipped (${trigger}): the script's files are unchanged`);
        return { ...base, ok: true, unchanged: true, version: this.version, hash: old.hash, durationMs: ms(t0) };
      }
      checkCandidate(next);
      stage = 'swap';
      const dry = await this.target.swap(next, guardOf(old, this.opts.from ?? 'file', force));
      this.version++;
      this.liveSince = base.at;
      const moved = dry.compared ? dry.moved / dry.compared : 0;
      const r: ReloadResult = { ...base, ok: true, version: this.version, hash: next.hash, durationMs: ms(t0), moved, sampled: dry.compared };
      if (dry.succeeded) { r.failing = (dry.failing ?? 0) / dry.succeeded; r.succeeded = dry.succeeded; }
      if (force) r.forced = true;
      this.counts.ok++;
      const share = dry.compared ? `${(moved * 100).toFixed(1)}% of ${dry.compared} recent host${dry.compared === 1 ? '' : 's'} change backend` : 'no recent hosts to compare';
      for (const w of next.warnings) this.opts.log.warn(w);
      this.opts.log.info({ reload: r, files: [...next.files.keys()] }, `reload: version ${this.version} live (${trigger}${force ? ', forced past the guard' : ''}), hash ${next.hash}, ${r.durationMs} ms; ${share}`);
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
