/**
 * Active health checks. Each backend has its own loop: check, wait the interval
 * (jittered by ±10% so many proxies and backends drift apart), check again. The next
 * check is scheduled only when the previous one has ended, and each ends within its
 * timeout, so checks of one backend never overlap. `fall` failed checks in a row mark an
 * up backend down; `rise` good ones mark a down backend up.
 *
 * Results can also come from outside the process: a cluster primary runs the checks
 * once per machine, listens to the `change` event, and pushes each change to its
 * workers, whose checkers run in remote mode (no checks of their own) and call
 * `apply(name, healthy, detail)`.
 *
 * Events: `result` ({name, ok, detail}) after every check this process ran; `change`
 * (HealthChange) whenever a backend's health flips, whichever way it was decided.
 */
import { EventEmitter } from 'node:events';
import type { BackendState } from '../balancer/backend.js';
import type { Random } from '../balancer/balancer.js';
import type { Logger } from '../core/logger.js';
import { probe as defaultProbe, type Probe, type ProbeSettings, type ProbeTransport } from './probe.js';

export interface HealthSettings extends ProbeSettings {
  interval: number;
  rise: number;
  fall: number;
}

export interface HealthChange {
  name: string;
  url: string;
  healthy: boolean;
  detail: string;
  /** ms since epoch */
  at: number;
}

export interface HealthCheckerOptions {
  log: Logger;
  /** the current backends (they change on reload) */
  backends: () => readonly BackendState[];
  /** the current health settings (they change on reload) */
  settings: () => HealthSettings;
  /** results come from outside (apply); run no checks here */
  remote?: boolean;
  probe?: Probe;
  /** how to reach a backend beyond its URL (TLS options, PROXY header): the live config's entry */
  transport?: (b: BackendState) => ProbeTransport | undefined;
  random?: Random;
}

interface Slot {
  timer: NodeJS.Timeout | null;
  running: boolean;
  okRun: number;
  failRun: number;
}

export class HealthChecker extends EventEmitter {
  readonly remote: boolean;
  private readonly slots = new Map<BackendState, Slot>();
  private readonly probe: Probe;
  private readonly random: Random;
  private stopped = true;

  constructor(private readonly opts: HealthCheckerOptions) {
    super();
    this.remote = opts.remote ?? false;
    this.probe = opts.probe ?? defaultProbe;
    this.random = opts.random ?? Math.random;
  }

  /** whether this process runs the checks itself (and so can bring a backend back up) */
  get active(): boolean {
    return !this.remote && !this.stopped && this.opts.settings().interval > 0;
  }

  start(): void {
    this.stopped = false;
    this.sync();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.slots.values()) if (s.timer) clearTimeout(s.timer);
    this.slots.clear();
  }

  /** follow the backend list and settings after a reload */
  sync(): void {
    if (this.stopped) return;
    const list = this.opts.backends();
    const keep = new Set(list);
    for (const [b, s] of this.slots) {
      if (keep.has(b)) continue;
      if (s.timer) clearTimeout(s.timer);
      this.slots.delete(b);
    }
    const interval = this.opts.settings().interval;
    for (const b of list) {
      let s = this.slots.get(b);
      if (!s) {
        s = { timer: null, running: false, okRun: 0, failRun: 0 };
        this.slots.set(b, s);
      }
      if (this.remote) continue;
      if (interval <= 0) {
        // checks turned off: nothing could bring a down backend back, so trust it again
        if (s.timer) { clearTimeout(s.timer); s.timer = null; }
        if (!b.healthy) this.set(b, true, 'active health checks are off');
        continue;
      }
      // the first check comes soon, spread over a tenth of the interval
      if (!s.timer && !s.running) this.schedule(b, s, this.random() * interval * 100);
    }
  }

  private schedule(b: BackendState, s: Slot, ms: number): void {
    s.timer = setTimeout(() => { s.timer = null; void this.run(b, s); }, ms);
    s.timer.unref();
  }

  private async run(b: BackendState, s: Slot): Promise<void> {
    const hs = this.opts.settings();
    if (this.stopped || this.slots.get(b) !== s || hs.interval <= 0) return;
    s.running = true;
    let r;
    try {
      r = await this.probe(b.url, hs, this.opts.transport?.(b));
    } catch (e) {
      r = { ok: false, detail: (e as Error).message };
    }
    s.running = false;
    if (this.stopped || this.slots.get(b) !== s) return;
    b.lastCheck = r.detail;
    this.emit('result', { name: b.name, ok: r.ok, detail: r.detail });
    this.record(b, s, r.ok, r.detail, hs);
    const next = this.opts.settings();
    if (next.interval > 0) this.schedule(b, s, next.interval * 1000 * (0.9 + 0.2 * this.random()));
  }

  private record(b: BackendState, s: Slot, ok: boolean, detail: string, hs: HealthSettings): void {
    if (ok) {
      s.failRun = 0;
      s.okRun++;
      if (!b.healthy && s.okRun >= hs.rise) this.set(b, true, detail);
    } else {
      s.okRun = 0;
      s.failRun++;
      if (b.healthy && s.failRun >= hs.fall) this.set(b, false, detail);
    }
  }

  private set(b: BackendState, healthy: boolean, detail: string): void {
    b.setHealthy(healthy);
    const s = this.slots.get(b);
    if (s) { s.okRun = 0; s.failRun = 0; }
    const change: HealthChange = { name: b.name, url: b.url, healthy, detail, at: Date.now() };
    this.opts.log[healthy ? 'info' : 'warn']({ backend: b.name, url: b.url, healthy, detail }, `backend ${b.name} is ${healthy ? 'up' : 'down'} (${detail})`);
    this.emit('change', change);
  }

  /**
   * A health result decided elsewhere (a cluster primary, an operator tool): set the
   * backend up or down now. Returns false when no current backend has that name.
   */
  apply(name: string, healthy: boolean, detail = 'reported'): boolean {
    const b = this.opts.backends().find((x) => x.name === name);
    if (!b) return false;
    b.lastCheck = detail;
    if (b.healthy !== healthy) this.set(b, healthy, detail);
    return true;
  }

  /**
   * Passive ejection asks for a backend to come back only through the checks: mark it
   * down so it needs `rise` good checks. Only when this process runs the checks (else
   * nothing here could bring it back); returns whether it did.
   */
  requireChecks(b: BackendState, detail: string): boolean {
    if (!this.active || !this.slots.has(b) || !b.healthy) return false;
    this.set(b, false, detail);
    return true;
  }

  /** every current backend's health, e.g. for a worker that just started */
  snapshot(): HealthChange[] {
    return this.opts.backends().map((b) => ({ name: b.name, url: b.url, healthy: b.healthy, detail: b.lastCheck ?? '', at: Date.now() }));
  }
}
