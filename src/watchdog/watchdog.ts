/**
 * Defence in depth against a stalled event loop: a proxy that stops making progress is
 * worse than one that restarts. The main thread bumps a heartbeat counter from an
 * unref'd timer; a watchdog thread (thread.ts) ends the process when the counter has not
 * moved for `watchdog.kill_after` seconds, so its supervisor (the cluster primary,
 * systemd's Restart=) replaces it. The process exits with WATCHDOG_EXIT_CODE, or dies by
 * SIGKILL when its main thread cannot run even that.
 *
 * Only a process that is the proxy runs one (the CLI and cluster workers): a library
 * user's process is not the watchdog's to end.
 */
import inspector from 'node:inspector';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/logger.js';
import { watchdogProbe, type WatchdogProbe } from './probe.js';

/** the exit code of a process the watchdog ended (70 is an uncaught error) */
export const WATCHDOG_EXIT_CODE = 71;

/** how often the main thread beats, and the thread looks */
const BEAT_MS = 250;

/** what the thread is started with */
export interface ThreadData {
  buffer: SharedArrayBuffer;
  pollMs: number;
  /** the logger's fields (worker id, pid), copied into the fatal line */
  bindings: Record<string, unknown>;
}

export class Watchdog {
  private thread: Worker | null = null;
  private beat: NodeJS.Timeout | null = null;
  private killAfter = 0;

  constructor(private readonly log: Logger, private readonly probe: WatchdogProbe = watchdogProbe) {}

  /** seconds; 0 turns the watchdog off (at start and after every reload) */
  configure(killAfterSeconds: number): void {
    if (killAfterSeconds === this.killAfter) return;
    const was = this.killAfter;
    this.killAfter = killAfterSeconds;
    this.probe.setKillAfter(Math.round(killAfterSeconds * 1000));
    if (killAfterSeconds > 0 && !this.thread) this.startThread();
    if (killAfterSeconds > 0 && was === 0) this.log.info({ kill_after: killAfterSeconds }, `watchdog on: the process ends (exit code ${WATCHDOG_EXIT_CODE}) when its event loop stops turning for ${killAfterSeconds} s`);
    else if (killAfterSeconds === 0 && was > 0) this.log.info('watchdog off (watchdog.kill_after = 0)');
  }

  private startThread(): void {
    // a debugger stopped at a breakpoint stops the loop on purpose
    if (inspector.url()) {
      this.log.warn('watchdog off: the inspector is open (--inspect), and a breakpoint would look like a stalled loop');
      return;
    }
    const data: ThreadData = { buffer: this.probe.buffer, pollMs: BEAT_MS, bindings: bindingsOf(this.log) };
    const t = new Worker(new URL('./thread.js', import.meta.url), {
      workerData: data,
      name: 'luaproxy-watchdog',
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    t.unref();
    t.on('error', (e) => this.log.error({ err: e }, `watchdog thread failed, the process runs without one: ${e.message}`));
    t.on('exit', () => { if (this.thread === t) this.thread = null; });
    this.thread = t;
    this.beat = setInterval(() => this.probe.beat(), BEAT_MS);
    this.beat.unref();
  }

  stop(): void {
    this.probe.setKillAfter(0);
    this.killAfter = 0;
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
    void this.thread?.terminate();
    this.thread = null;
  }
}

function bindingsOf(log: Logger): Record<string, unknown> {
  try {
    return { ...log.bindings() };
  } catch {
    return {};
  }
}
