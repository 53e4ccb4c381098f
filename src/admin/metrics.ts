/**
 * Prometheus metrics for one running proxy, through prom-client on a private Registry
 * (never the global one, so two proxies in one process, as in tests, never share
 * counters). Request-path events arrive through the ProxyObserver interface; the label
 * children they touch are created once and cached, so a request costs a few array reads
 * and increments. Everything that is a level rather than an event (backend state,
 * in-flight counts, connections, the live version) is read when /metrics is scraped.
 */
import { Registry, Counter, Gauge } from 'prom-client';
import type { ProxyObserver } from '../proxy/server.js';
import type { Exchange } from '../proxy/exchange.js';
import type { Failure } from '../proxy/classify.js';
import type { BackendState } from '../balancer/backend.js';
import type { LpxError } from '../core/errors.js';
import type { ReloadResult } from '../reload/reloader.js';
import type { Config } from '../config/load.js';
import { ProcessMetrics, type LagWindow } from './process-metrics.js';
import { RecentErrors } from './recent-errors.js';
import { TallyCounter, TallyHistogram, type CounterCell, type HistogramCell } from './tally.js';

/** what the metrics read at scrape time */
export interface MetricsSource {
  readonly config: Config;
  readonly server: { readonly active: number; readonly connections: number; readonly openTunnels: number };
  readonly reloader: { readonly version: number };
}

/** request methods get a bounded label: the common ones by name, the rest as OTHER */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'OTHER'] as const;
/** "none" is a request that got no status (the client left before anything was sent) */
export const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** the backend label of a request that never reached one (no route, direct answer, script error) */
export const NO_BACKEND = '(none)';

export const WATCHDOG_KILLS_HELP = 'Processes the watchdog ended because their event loop stopped turning for watchdog.kill_after seconds (counted by the cluster primary; a single process cannot count its own end, so there it stays 0)';

/**
 * `luaproxy_certificate_expiry_seconds{name,serial}`: seconds until each certificate of the
 * live config expires, computed at scrape time (negative once it has); `name` is the
 * certificate's first DNS name. A single process and the cluster primary both register it.
 */
export function certificateExpiryGauge(registers: Registry[], config: () => Config | null): Gauge<string> {
  return new Gauge({
    name: 'luaproxy_certificate_expiry_seconds',
    help: 'Seconds until a certificate TLS listeners serve expires (negative once it has), by its first DNS name and its serial number',
    labelNames: ['name', 'serial'], registers,
    collect() {
      this.reset();
      const now = new Date();
      for (const c of config()?.certs?.info(now) ?? []) {
        this.labels(c.names[0], c.serial).set(Math.round((c.notAfter.getTime() - now.getTime()) / 1000));
      }
      // and the ones ACME obtained
      for (const m of config()?.acmeRuntime?.status() ?? []) {
        if (typeof m.serial === 'string' && typeof m.not_after === 'string') this.labels(String(m.name), m.serial).set(Math.round((Date.parse(m.not_after) - now.getTime()) / 1000));
      }
    },
  });
}

/**
 * `luaproxy_acme_events_total{event}`: what the ACME orderer did since start: issued,
 * renewed, loaded (from the storage), failed (an order), refused (by tls_allow), limited
 * (no order: a backoff or a limit).
 */
export function acmeEventsCounter(registers: Registry[], config: () => Config | null): Counter<string> {
  return new Counter({
    name: 'luaproxy_acme_events_total',
    help: 'ACME certificate events since start: issued, renewed, loaded (from storage), failed (an order failed), refused (tls_allow said no), limited (a backoff or an order limit)',
    labelNames: ['event'], registers,
    collect() {
      this.reset();
      const counts = config()?.acmeRuntime?.counts;
      if (counts) for (const [event, n] of Object.entries(counts)) this.labels(event).inc(n);
    },
  });
}

export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Inc { inc(v?: number): void }
interface PerBackend {
  /** requests_total cells, [method * STATUS_CLASSES.length + statusClass] */
  requests: Array<CounterCell | undefined>;
  duration: HistogramCell;
  upstream: HistogramCell;
  retries: Inc;
}

function methodIndex(m: string | undefined): number {
  switch (m) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    case 'PATCH': return 5;
    case 'OPTIONS': return 6;
    default: return 7;
  }
}

function statusIndex(s: number): number {
  const c = (s / 100) | 0;
  return c >= 1 && c <= 5 ? c : 0;
}

export class ProxyMetrics implements ProxyObserver {
  readonly registry = new Registry();
  readonly recent = new RecentErrors(50);
  private source: MetricsSource | null = null;
  private readonly process: ProcessMetrics;
  private readonly perBackend = new Map<string, PerBackend>();
  private readonly failureChildren = new Map<string, Inc>();
  private readonly scriptChildren = new Map<string, Inc>();
  /** the ejectedUntil last seen per backend state, to count each ejection once */
  private readonly ejectSeen = new WeakMap<BackendState, number>();
  private readonly ejectionCounts = new Map<string, number>();

  private readonly requestsTotal: TallyCounter;
  private readonly duration: TallyHistogram;
  private readonly upstream: TallyHistogram;
  private readonly retries: Counter<string>;
  private readonly failures: Counter<string>;
  private readonly ejections: Counter<string>;
  private readonly scriptErrors: Counter<string>;
  private readonly reloads: Counter<string>;
  private readonly connectionsOpened: CounterCell;
  private readonly clientErrors: Counter<string>;
  private readonly intakeRefusals: Counter<string>;
  private readonly lastReloadOk: Gauge<string>;
  private readonly lastReloadTime: Gauge<string>;

  constructor() {
    const registers = [this.registry];
    this.requestsTotal = new TallyCounter('luaproxy_requests_total', 'Requests finished, by backend ("(none)" when none was reached), method and status class', this.registry);
    this.duration = new TallyHistogram('luaproxy_request_duration_seconds', 'Time from a request\'s arrival to the end of its response, by backend', this.registry, LATENCY_BUCKETS);
    this.upstream = new TallyHistogram('luaproxy_upstream_duration_seconds', 'Time from dispatch to a backend until its response headers arrived, by backend', this.registry, LATENCY_BUCKETS);
    this.retries = new Counter({
      name: 'luaproxy_backend_retries_total',
      help: 'Attempts on a backend that failed and were retried (on the next backend, or once on a fresh connection)',
      labelNames: ['backend'], registers,
    });
    this.failures = new Counter({
      name: 'luaproxy_backend_failures_total',
      help: 'Failed attempts on a backend by error code (refused, reset, timeouts, 5xx answers)',
      labelNames: ['backend', 'code'], registers,
    });
    const self = this;
    this.ejections = new Counter({
      name: 'luaproxy_backend_ejections_total',
      help: 'Times a backend was ejected by passive health after repeated failures',
      labelNames: ['backend'], registers,
      collect() {
        for (const b of self.source?.config.backendSet.list ?? []) self.noteEjection(b);
      },
    });
    this.scriptErrors = new Counter({
      name: 'luaproxy_script_errors_total',
      help: 'route() calls that failed, by code: LPX_ROUTE_ERROR (a Lua error), LPX_ROUTE_BUDGET (instruction, time or memory budget exceeded), LPX_ROUTE_RETURN, LPX_ROUTE_NO_BACKEND',
      labelNames: ['code'], registers,
    });
    this.reloads = new Counter({
      name: 'luaproxy_reloads_total',
      help: 'Reload attempts by outcome (ok or refused) and trigger (file, SIGHUP, admin)',
      labelNames: ['outcome', 'trigger'], registers,
    });
    this.lastReloadOk = new Gauge({ name: 'luaproxy_last_reload_ok', help: '1 when the last reload attempt went live, 0 when it was refused', registers });
    this.lastReloadTime = new Gauge({ name: 'luaproxy_last_reload_timestamp_seconds', help: 'Unix time of the last reload attempt', registers });
    this.connectionsOpened = new TallyCounter('luaproxy_client_connections_opened_total', 'Client connections accepted on the traffic listener', this.registry).cell();
    this.clientErrors = new Counter({
      name: 'luaproxy_client_errors_total',
      help: 'Malformed client requests answered by the proxy itself (400, 408, 431)',
      labelNames: ['status'], registers,
    });
    this.intakeRefusals = new Counter({
      name: 'luaproxy_connections_refused_total',
      help: 'Client connections closed before HTTP: reason "tls" (the TLS handshake failed: no certificate for the name, a client that speaks no TLS) or "proxy_protocol" (a missing or invalid PROXY header), or "http2_abuse" (an HTTP/2 session closed for cancelling streams too fast: rapid reset)',
      labelNames: ['reason'], registers,
    });
    for (const r of ['tls', 'proxy_protocol', 'http2_abuse']) this.intakeRefusals.labels(r).inc(0);
    for (const r of ['ok', 'refused']) this.reloads.labels(r, 'file').inc(0);
    // always 0 here, so dashboards find the series; see WATCHDOG_KILLS_HELP
    new Counter({ name: 'luaproxy_watchdog_kills_total', help: WATCHDOG_KILLS_HELP, registers });
    this.scrapeGauges(registers);
    this.process = new ProcessMetrics(this.registry);
  }

  /** the running proxy whose levels are read at scrape time */
  attach(source: MetricsSource): void {
    this.source = source;
  }

  /** Prometheus text exposition */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** event-loop delay of the last window, in seconds */
  lag(): LagWindow {
    return this.process.lag();
  }

  close(): void {
    this.process.close();
  }

  private backend(name: string): PerBackend {
    let b = this.perBackend.get(name);
    if (!b) {
      b = {
        requests: new Array(METHODS.length * STATUS_CLASSES.length),
        duration: this.duration.cell({ backend: name }),
        upstream: this.upstream.cell({ backend: name }),
        retries: this.retries.labels(name),
      };
      this.perBackend.set(name, b);
    }
    return b;
  }

  // ---- ProxyObserver: the request path ----

  request(x: Exchange, durationMs: number): void {
    const name = x.backend?.name ?? NO_BACKEND;
    const b = this.backend(name);
    const m = methodIndex(x.method);
    const st = statusIndex(x.status);
    const i = m * STATUS_CLASSES.length + st;
    let c = b.requests[i];
    if (c === undefined) {
      c = this.requestsTotal.cell({ backend: name, method: METHODS[m], status: STATUS_CLASSES[st] });
      b.requests[i] = c;
    }
    c.inc();
    b.duration.observe(durationMs / 1000);
    if (x.upstreamMs >= 0) b.upstream.observe(x.upstreamMs / 1000);
    if (x.retries > 0) this.countRetries(x);
    if (x.status >= 500) this.recent.add(x);
  }

  /** every backend tried before the last one failed and was retried */
  private countRetries(x: Exchange): void {
    const list = x.cfg.backendSet.list;
    for (let k = 0; k < x.tried.length - 1; k++) {
      const s = list[x.tried[k]];
      if (s) this.backend(s.name).retries.inc();
    }
  }

  backendOutcome(_x: Exchange, backend: BackendState, ok: boolean, failure: Failure | null): void {
    if (ok) return;
    if (failure) {
      const k = `${backend.name}\0${failure.code}`;
      let c = this.failureChildren.get(k);
      if (!c) { c = this.failures.labels(backend.name, failure.code); this.failureChildren.set(k, c); }
      c.inc();
    }
    // passive health may have ejected it in reaction to this failure (observers run in order)
    queueMicrotask(() => this.noteEjection(backend));
  }

  private noteEjection(b: BackendState): void {
    const seen = this.ejectSeen.get(b) ?? 0;
    if (b.ejectedUntil !== seen) {
      this.ejectSeen.set(b, b.ejectedUntil);
      if (b.ejectedUntil > seen) {
        this.ejections.labels(b.name).inc();
        this.ejectionCounts.set(b.name, (this.ejectionCounts.get(b.name) ?? 0) + 1);
      }
    }
  }

  /** ejections counted so far for a backend (shown on /status) */
  ejectionsOf(name: string): number {
    return this.ejectionCounts.get(name) ?? 0;
  }

  scriptError(err: LpxError): void {
    let c = this.scriptChildren.get(err.code);
    if (!c) { c = this.scriptErrors.labels(err.code); this.scriptChildren.set(err.code, c); }
    c.inc();
  }

  connections(delta: number): void {
    if (delta > 0) this.connectionsOpened.inc();
  }

  clientError(status: number): void {
    this.clientErrors.labels(String(status)).inc();
  }

  intakeRefused(kind: 'proxy_protocol' | 'tls' | 'http2_abuse'): void {
    this.intakeRefusals.labels(kind).inc();
  }

  // ---- reloads ----

  reload(r: ReloadResult): void {
    this.reloads.labels(r.ok ? 'ok' : 'refused', r.trigger).inc();
    this.lastReloadOk.set(r.ok ? 1 : 0);
    this.lastReloadTime.set(Date.parse(r.at) / 1000);
  }

  // ---- levels, read at scrape time ----

  private scrapeGauges(registers: Registry[]): void {
    const self = this;
    const perBackend = (name: string, help: string, read: (b: BackendState) => number) => new Gauge({
      name, help, labelNames: ['backend'], registers,
      collect() {
        this.reset();
        const src = self.source;
        if (!src) return;
        for (const b of src.config.backendSet.list) this.labels(b.name).set(read(b));
      },
    });
    perBackend('luaproxy_backend_up', 'Whether a backend takes new requests: 1 up, 0 down (failed health checks, ejected) or drained', (b) => (b.status === 'up' ? 1 : 0));
    perBackend('luaproxy_backend_drained', '1 when an operator drained the backend through the admin API', (b) => (b.drained ? 1 : 0));
    perBackend('luaproxy_backend_healthy', 'Active health checks: 1 passing, 0 failing', (b) => (b.healthy ? 1 : 0));
    perBackend('luaproxy_backend_ejected', '1 while passive health keeps the backend ejected', (b) => (b.ejectedUntil > Date.now() ? 1 : 0));
    perBackend('luaproxy_backend_inflight', 'Requests in flight to a backend', (b) => b.inflight);
    perBackend('luaproxy_backend_queued', 'Requests waiting for a backend\'s concurrency slot', (b) => b.queued);
    perBackend('luaproxy_backend_weight', 'The backend\'s weight in the live script', (b) => b.weight);

    const level = (name: string, help: string, read: (s: MetricsSource) => number) => new Gauge({
      name, help, registers,
      collect() {
        const src = self.source;
        if (src) this.set(read(src));
      },
    });
    level('luaproxy_requests_in_flight', 'Client requests between arrival and the end of their response', (s) => s.server.active);
    level('luaproxy_client_connections', 'Client connections open on the traffic listener', (s) => s.server.connections);
    level('luaproxy_open_tunnels', 'Upgraded connections (WebSocket) passed through and still open', (s) => s.server.openTunnels);
    level('luaproxy_config_version', 'Version of the live script: 1 at start, +1 on every reload that went live', (s) => s.reloader.version);
    level('luaproxy_backends', 'Backends in the live script', (s) => s.config.backends.length);
    new Gauge({
      name: 'luaproxy_config_info', help: 'Always 1; the label hash is the sha256 prefix of the live script\'s files',
      labelNames: ['hash'], registers,
      collect() {
        this.reset();
        if (self.source) this.labels(self.source.config.hash).set(1);
      },
    });
    certificateExpiryGauge(registers, () => self.source?.config ?? null);
    acmeEventsCounter(registers, () => self.source?.config ?? null);
  }
}
