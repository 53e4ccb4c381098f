/**
 * The /status document: what is live (script version, hash, files, listen address),
 * how the last reloads went, every backend with its state and counters, the certificates
 * TLS listeners serve, the recent errors and the process' own vital signs. The status
 * page renders exactly this.
 */
import { displayPath } from '../core/display-path.js';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/load.js';
import type { CertStore } from '../tls/certificates.js';
import type { ReloadResult } from '../reload/reloader.js';
import type { ProxyMetrics } from './metrics.js';
import { openHandles, openFds } from './process-metrics.js';

/** what the admin listener serves and controls: the `Running` handle of app.ts */
export interface AdminTarget {
  readonly config: Config;
  readonly address: AddressInfo;
  readonly server: { readonly active: number; readonly connections: number; readonly openTunnels: number; readonly address: AddressInfo | null };
  readonly reloader: {
    readonly version: number;
    readonly history: readonly ReloadResult[];
    readonly last: ReloadResult | null;
    reload(trigger: string): Promise<ReloadResult>;
  };
}

const startedAt = new Date(Date.now() - process.uptime() * 1000).toISOString();

export function buildStatus(t: AdminTarget, metrics: ProxyMetrics, admin: string): Record<string, unknown> {
  const cfg = t.config;
  const addr = t.server.address ?? t.address;
  const lag = metrics.lag();
  const mem = process.memoryUsage();
  const now = Date.now();
  return {
    version: t.reloader.version,
    hash: cfg.hash,
    file: cfg.file,
    files: [...cfg.files.keys()].map(displayPath),
    listen: `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    admin,
    started_at: startedAt,
    reload: reloadStatus(t.reloader),
    traffic: {
      requests_in_flight: t.server.active,
      client_connections: t.server.connections,
      open_tunnels: t.server.openTunnels,
      errors_total: metrics.recent.total,
    },
    // the backend's own view wins; these fill in what it does not say
    backends: cfg.backendSet.list.map((b) => ({
      drained: b.drained,
      ejected_until: b.ejectedUntil > now ? new Date(b.ejectedUntil).toISOString() : null,
      consecutive_failures: b.consecutiveFailures,
      retries: b.retries,
      last_error_at: b.lastErrorAt ? new Date(b.lastErrorAt).toISOString() : null,
      ...b.view(),
      ejections_total: metrics.ejectionsOf(b.name),
    })),
    certificates: certificateStatus(cfg.certs),
    // every name ACME manages: issuer, expiry, next renewal, last error
    ...(cfg.acmeRuntime ? { acme: { names: cfg.acmeRuntime.status() } } : {}),
    recent_errors: metrics.recent.list(),
    process: {
      pid: process.pid,
      node: process.version,
      uptime_s: Math.round(process.uptime()),
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      heap_total_bytes: mem.heapTotal,
      event_loop_lag_ms: { p50: round(lag.p50 * 1000), p99: round(lag.p99 * 1000), max: round(lag.max * 1000) },
      open_handles: openHandles(),
      open_fds: openFds(),
    },
  };
}

/** the `reload` section of /status: the last result, the last refusal, the history newest first */
export function reloadStatus(r: { readonly history: readonly ReloadResult[]; readonly last: ReloadResult | null }): Record<string, unknown> {
  let lastError: ReloadResult | null = null;
  for (let i = r.history.length - 1; i >= 0; i--) if (!r.history[i].ok) { lastError = r.history[i]; break; }
  return {
    last: r.last,
    last_error: lastError ? { at: lastError.at, trigger: lastError.trigger, code: lastError.code ?? null, error: lastError.error ?? null } : null,
    history: [...r.history].reverse(),
  };
}

/** the `certificates` section of /status: every certificate of the live config, in the script's order (empty without TLS) */
export function certificateStatus(certs: CertStore | null, now: Date = new Date()): Array<Record<string, unknown>> {
  return (certs?.info(now) ?? []).map((c) => ({
    names: c.names,
    issuer: c.issuer,
    serial: c.serial,
    not_after: c.notAfter.toISOString(),
    days_left: c.daysLeft,
    file: c.file,
  }));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
