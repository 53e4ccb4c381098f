/**
 * What the cluster primary's admin listener shows: the whole machine. /metrics sums the
 * workers' registries (each worker keeps its own ProxyMetrics and sends it as prom-client
 * JSON over IPC; AggregatorRegistry.aggregate merges them) and adds what only the primary
 * knows (the live version, reloads, the workers). /status is the primary's version,
 * reloads and health checks plus each worker's traffic and backend counters.
 */
import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Config } from '../config/load.js';
import type { ReloadResult } from '../reload/reloader.js';
import type { AdminSource } from '../admin/server.js';
import { openHandles, openFds } from '../admin/process-metrics.js';
import { certificateStatus, reloadStatus } from '../admin/status.js';
import { displayPath } from '../core/display-path.js';
import { WATCHDOG_KILLS_HELP, certificateExpiryGauge, acmeEventsCounter } from '../admin/metrics.js';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** a worker as the primary sees it */
export interface WorkerInfo {
  id: number;
  pid: number;
  alive: boolean;
  ready: boolean;
  /** times it died and was replaced */
  restarts: number;
  version: number;
}

/** the primary, as the cluster admin source reads it */
export interface ClusterView {
  readonly config: Config;
  readonly version: number;
  readonly listen: string;
  readonly reloader: { readonly history: readonly ReloadResult[]; readonly last: ReloadResult | null };
  workers(): WorkerInfo[];
  /** one answer per worker, null for a worker that is gone or did not answer in time */
  ask(q: 'metrics' | 'status'): Promise<Array<{ worker: number; data: unknown }>>;
  drain(name: string, drained: boolean): Promise<Array<{ worker: number; data: unknown }>>;
}

/** series the primary owns: the workers' copies do not follow cluster reloads (and certificates would be summed) */
const PRIMARY_OWNED = new Set(['luaproxy_reloads_total', 'luaproxy_last_reload_ok', 'luaproxy_last_reload_timestamp_seconds', 'luaproxy_config_version', 'luaproxy_config_info', 'luaproxy_watchdog_kills_total', 'luaproxy_certificate_expiry_seconds']);
/** levels that are the same fact in every worker, or where the worst worker matters; the rest is summed */
const AGGREGATOR: Record<string, 'min' | 'max'> = {
  luaproxy_backend_up: 'min',
  luaproxy_backend_healthy: 'min',
  luaproxy_backend_drained: 'max',
  luaproxy_backend_ejected: 'max',
  luaproxy_backend_weight: 'max',
  luaproxy_backends: 'max',
  luaproxy_event_loop_lag_seconds: 'max',
  luaproxy_start_time_seconds: 'min',
  luaproxy_build_info: 'max',
};

const startedAt = new Date(Date.now() - process.uptime() * 1000).toISOString();

export class ClusterAdmin implements AdminSource {
  private readonly registry = new Registry();
  private readonly reloads: Counter<string>;
  private readonly lastReloadOk: Gauge<string>;
  private readonly lastReloadTime: Gauge<string>;
  private readonly watchdogKills: Counter<string>;
  /** workers that answered the last scrape */
  private answered = new Set<number>();

  constructor(private readonly view: ClusterView) {
    const registers = [this.registry];
    this.reloads = new Counter({ name: 'luaproxy_reloads_total', help: 'Reload attempts by outcome (ok or refused) and trigger (file, SIGHUP, admin)', labelNames: ['outcome', 'trigger'], registers });
    for (const r of ['ok', 'refused']) this.reloads.labels(r, 'file').inc(0);
    this.lastReloadOk = new Gauge({ name: 'luaproxy_last_reload_ok', help: '1 when the last reload attempt went live, 0 when it was refused', registers });
    this.lastReloadTime = new Gauge({ name: 'luaproxy_last_reload_timestamp_seconds', help: 'Unix time of the last reload attempt', registers });
    this.watchdogKills = new Counter({ name: 'luaproxy_watchdog_kills_total', help: WATCHDOG_KILLS_HELP, registers });
    new Gauge({
      name: 'luaproxy_config_version', help: 'Version of the live script: 1 at start, +1 on every reload that went live', registers,
      collect() { this.set(view.version); },
    });
    new Gauge({
      name: 'luaproxy_config_info', help: 'Always 1; the label hash is the sha256 prefix of the live script\'s files', labelNames: ['hash'], registers,
      collect() { this.reset(); this.labels(view.config.hash).set(1); },
    });
    // the primary loads the same config, certificates included
    certificateExpiryGauge(registers, () => view.config);
    // the primary orders the ACME certificates (issued, renewed, failed); the workers' refusals are summed in
    acmeEventsCounter(registers, () => view.config);
    new Gauge({
      name: 'luaproxy_cluster_workers', help: 'Worker processes the cluster runs (--workers)', registers,
      collect() { this.set(view.workers().length); },
    });
    const self = this;
    new Gauge({
      name: 'luaproxy_worker_up', help: '1 when the worker is alive and answered this scrape, by worker number', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of view.workers()) this.labels(String(w.id)).set(w.alive && self.answered.has(w.id) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'luaproxy_worker_restarts', help: 'Times the worker died and was replaced, by worker number', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of view.workers()) this.labels(String(w.id)).set(w.restarts);
      },
    });
  }

  /** a worker exited with the watchdog's exit code */
  watchdogKill(): void {
    this.watchdogKills.inc();
  }

  /** every reload attempt of the primary */
  reload(r: ReloadResult): void {
    this.reloads.labels(r.ok ? 'ok' : 'refused', r.trigger).inc();
    this.lastReloadOk.set(r.ok ? 1 : 0);
    this.lastReloadTime.set(Date.parse(r.at) / 1000);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async metrics(): Promise<string> {
    const answers = await this.view.ask('metrics');
    this.answered = new Set(answers.filter((a) => Array.isArray(a.data)).map((a) => a.worker));
    const all: MetricJson[][] = [];
    for (const a of answers) {
      if (!Array.isArray(a.data)) continue;
      const own = (a.data as MetricJson[]).filter((m) => !PRIMARY_OWNED.has(m.name));
      for (const m of own) m.aggregator = AGGREGATOR[m.name] ?? 'sum';
      all.push(own);
    }
    all.push(await this.registry.getMetricsAsJSON());
    return AggregatorRegistry.aggregate(all).metrics();
  }

  async status(admin: string): Promise<unknown> {
    const v = this.view;
    const cfg = v.config;
    const answers = await v.ask('status');
    const byWorker = new Map<number, WorkerStatus>();
    for (const a of answers) if (a.data && typeof a.data === 'object') byWorker.set(a.worker, a.data as WorkerStatus);
    const traffic = { requests_in_flight: 0, client_connections: 0, open_tunnels: 0, errors_total: 0 };
    for (const s of byWorker.values()) for (const k of Object.keys(traffic) as Array<keyof typeof traffic>) traffic[k] += Number(s.traffic?.[k] ?? 0);
    const now = Date.now();
    const summed = ['inflight', 'queued', 'requests', 'failures', 'retries', 'ejections'] as const;
    return {
      cluster: true,
      version: v.version,
      hash: cfg.hash,
      file: cfg.file,
      files: [...cfg.files.keys()].map(displayPath),
      listen: v.listen,
      admin,
      started_at: startedAt,
      reload: reloadStatus(v.reloader),
      traffic,
      // health is the primary's (it runs the checks once for the machine); counters are summed over the workers
      backends: cfg.backendSet.list.map((b) => {
        const per: Array<Record<string, unknown>> = [...byWorker.entries()].map(([worker, s]) => ({ worker, ...(s.backends?.find((x) => x.name === b.name) ?? {}) }));
        const total: Record<string, number> = {};
        for (const k of summed) total[k] = per.reduce((n, p) => n + Number(p[k] ?? 0), 0);
        const notUp = per.find((p) => p.status !== 'up');
        return {
          name: b.name,
          url: b.url,
          weight: b.weight,
          healthy: b.healthy,
          checks_ok: b.healthy,
          last_check: b.lastCheck,
          drained: per.some((p) => p.drained === true),
          ejected: per.some((p) => p.ejected === true),
          // up only when every worker sends it traffic
          status: per.length === 0 ? b.status : notUp ? notUp.status : 'up',
          ...total,
          ejected_until: b.ejectedUntil > now ? new Date(b.ejectedUntil).toISOString() : null,
          workers: per,
        };
      }),
      workers: v.workers().map((w) => {
        const s = byWorker.get(w.id);
        return { ...w, answered: Boolean(s), traffic: s?.traffic ?? null, process: s?.process ?? null };
      }),
      certificates: certificateStatus(cfg.certs),
      // the primary orders the machine's ACME certificates
      ...(cfg.acmeRuntime ? { acme: { names: cfg.acmeRuntime.status() } } : {}),
      recent_errors: [...byWorker.entries()].flatMap(([worker, s]) => (s.recent_errors ?? []).map((e) => ({ worker, ...e }))),
      // the primary's own vital signs (the status page reads the same keys as a single process'), with the worst worker's event-loop lag
      process: primaryProcess([...byWorker.values()]),
    };
  }

  async setDrained(name: string, drain: boolean): Promise<Record<string, unknown> | null> {
    const b = this.view.config.backendSet.byName.get(name);
    if (!b) return null;
    // the primary's copy: workers that start later boot drained too
    b.setDrained(drain);
    const answers = await this.view.drain(name, drain);
    return { ...b.view(), workers: answers.map((a) => ({ worker: a.worker, applied: a.data !== null })) };
  }
}

interface WorkerStatus {
  traffic?: Record<string, number>;
  backends?: Array<Record<string, unknown> & { name: string }>;
  recent_errors?: Array<Record<string, unknown>>;
  process?: Record<string, unknown>;
}

function primaryProcess(workers: WorkerStatus[]): Record<string, unknown> {
  const mem = process.memoryUsage();
  const lag = { p50: 0, p99: 0, max: 0 };
  for (const w of workers) {
    const l = (w.process?.event_loop_lag_ms ?? {}) as Partial<typeof lag>;
    for (const k of ['p50', 'p99', 'max'] as const) lag[k] = Math.max(lag[k], Number(l[k] ?? 0));
  }
  return {
    role: 'primary',
    pid: process.pid,
    node: process.version,
    uptime_s: Math.round(process.uptime()),
    rss_bytes: mem.rss,
    heap_used_bytes: mem.heapUsed,
    heap_total_bytes: mem.heapTotal,
    event_loop_lag_ms: lag,
    open_handles: openHandles(),
    open_fds: openFds(),
  };
}

