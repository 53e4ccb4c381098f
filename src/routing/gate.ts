/**
 * The gate every script passes to go live, wherever it comes from: start-up (one process
 * or a cluster primary), a reload (file, SIGHUP, admin API), a cluster worker's prepare,
 * and `luaproxy check`. A loaded candidate must pass its own tests (run against a fresh
 * copy) and, on a reload, a dry run of recent requests (replayed through another fresh
 * copy). So the live script runs nothing extra, and the candidate goes live exactly as it
 * loaded: not one route() call has touched its state.
 */
import { loadConfig, type Config } from '../config/load.js';
import { LpxError } from '../core/errors.js';
import { destination, type Decision } from '../core/decision.js';
import { RouteCall, requestSource, type RequestSource } from './call.js';
import { decide } from './decide.js';
import { validateOwnTests } from './own-tests.js';

/** a recent request, kept to dry-run new scripts and to measure how many hosts move */
export interface Sample {
  head: RequestSource;
  client: string;
  /** what the live script decided for it */
  decision: Decision | null;
}

/**
 * What a dry run found: of `compared` distinct recent hosts, `moved` would change
 * destination; of `succeeded` distinct recent requests the live script forwarded or
 * answered below 400, `failing` would get 404 or 5xx from the candidate.
 */
export interface DryRun {
  moved: number;
  compared: number;
  failing?: number;
  succeeded?: number;
}

/**
 * The blast-radius guard a dry run is held to (reload.max_failing, reload.max_moved or
 * reload.fleet_max_moved): shares from 0 to 1, where 1 is off. Null: no guard (--force).
 */
export interface Guard {
  maxFailing: number;
  maxMoved: number;
  /** the setting maxMoved came from, for the refusal message */
  movedSetting: 'reload.max_moved' | 'reload.fleet_max_moved';
}

/** the guard the live version sets for a candidate from a file or from the fleet store; null with --force */
export function guardOf(live: Config, from: 'file' | 'fleet', force: boolean): Guard | null {
  if (force) return null;
  const r = live.settings.reload;
  return from === 'fleet'
    ? { maxFailing: r.max_failing, maxMoved: r.fleet_max_moved, movedSetting: 'reload.fleet_max_moved' }
    : { maxFailing: r.max_failing, maxMoved: r.max_moved, movedSetting: 'reload.max_moved' };
}

/**
 * Refuse (LPX_RELOAD_GUARD) a candidate whose dry run trips the guard: more than
 * max_failing of the recent successful requests would turn into 404 or 5xx, or more than
 * max_moved of the recent hosts would go to another backend. The message gives the figures.
 */
export function checkGuard(dry: DryRun, guard: Guard | null): void {
  if (!guard) return;
  const pct = (x: number) => `${(x * 100).toFixed(1).replace(/\.0$/, '')}%`;
  const failing = dry.failing ?? 0;
  const succeeded = dry.succeeded ?? 0;
  if (guard.maxFailing < 1 && succeeded > 0 && failing / succeeded > guard.maxFailing) {
    throw new LpxError('LPX_RELOAD_GUARD', `reload.max_failing tripped: the new version would answer 404 or 5xx to ${failing} of ${succeeded} recent successful requests (${pct(failing / succeeded)}; the limit is ${pct(guard.maxFailing)}); fix the script, or override with luaproxy reload --force`);
  }
  if (guard.maxMoved < 1 && dry.compared > 0 && dry.moved / dry.compared > guard.maxMoved) {
    throw new LpxError('LPX_RELOAD_GUARD', `${guard.movedSetting} tripped: the new version would move ${dry.moved} of ${dry.compared} recent hosts to another destination (${pct(dry.moved / dry.compared)}; the limit is ${pct(guard.maxMoved)}); check the backend list and the hashing, or override with --force`);
  }
}

/** the live script answered it well: forwarded, or answered below 400 */
function succeeded(d: Decision): boolean {
  return d.kind === 'backend' || (d.kind === 'respond' && d.status < 400);
}

/** the candidate would fail it: no route (404), an answer of 404 or 5xx */
function failing(d: Decision): boolean {
  return d.kind === 'none' || (d.kind === 'respond' && (d.status === 404 || d.status >= 500));
}

/** the dry run blocks the event loop: a few distinct requests, within a time budget, are enough */
const DRY_RUN_MAX = 64;
const DRY_RUN_MS = 250;
const MADE_UP: Sample = { head: requestSource('GET', '/', 'example.com'), client: '127.0.0.1', decision: null };

/**
 * What a candidate must pass wherever it comes from (a start, `check`, a reload, a
 * cluster primary): its own tests, LPX_RELOAD_REFUSED at the first failing row. A reload
 * then dry-runs it too (dryRun); a start has no traffic to replay.
 */
export function checkCandidate(cfg: Config): void {
  validateOwnTests(cfg);
}

/**
 * Replay recent requests (the newest first, each distinct Host and target once, at most
 * DRY_RUN_MAX of them or DRY_RUN_MS of work; one made-up request when there are none)
 * through a fresh copy of the candidate. Any error refuses it: a route() that throws,
 * exceeds its budget, or names a backend that does not exist. Also counts the distinct
 * recent hosts whose destination differs from what the live script decided for them, and
 * the recent successful requests it would answer 404 or 5xx (for checkGuard).
 */
export function dryRun(next: Config, samples: readonly Sample[]): DryRun {
  // a copy of exactly the candidate's bytes, sharing its view of backend health
  const probe = loadConfig(next.file, { sources: next.files, ...next.overrides, previous: next, log: () => {}, routingOnly: true });
  const all = samples.length ? samples : [MADE_UP];
  const seen = new Set<string>();
  /** host -> [live destination, candidate destination] of its most recent sample */
  const byHost = new Map<string, [string, string]>();
  let ok = 0;
  let bad = 0;
  const t0 = performance.now();
  for (let i = all.length - 1; i >= 0 && seen.size < DRY_RUN_MAX; i--) {
    if (seen.size > 0 && performance.now() - t0 > DRY_RUN_MS) break;
    const s = all[i];
    const key = `${s.head.method} ${s.head.host ?? ''}\0${s.head.target}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const call = new RouteCall(s.head, s.client);
    const d = decide(probe, call);
    if (d.kind === 'error') {
      const err = d.error;
      throw new LpxError(err.code, `${err.message} (dry run of route(${JSON.stringify(call.host)}, ${JSON.stringify(call.path)}) on a recent request)`, { cause: err, where: err.where, traceback: err.traceback });
    }
    if (s.decision !== null && !byHost.has(call.host)) byHost.set(call.host, [destination(s.decision), destination(d)]);
    if (s.decision !== null && succeeded(s.decision)) {
      ok++;
      if (failing(d)) bad++;
    }
  }
  let moved = 0;
  for (const [a, b] of byHost.values()) if (a !== b) moved++;
  return { moved, compared: byHost.size, failing: bad, succeeded: ok };
}
