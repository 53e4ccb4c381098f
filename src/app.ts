/**
 * Puts the layers together for `luaproxy run`: load the script, start the traffic
 * listener, wire reload triggers (file saves, SIGHUP) and graceful shutdown. The admin
 * listener and health checks hang off the same handle.
 */
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config, type LoadOptions } from './config/load.js';
import { ProxyServer, type ProxyObserver } from './proxy/server.js';
import type { Reloader, ReloadResult } from './reload/reloader.js';
import { dryRun, checkGuard, type Guard } from './routing/gate.js';
import type { Logger } from './core/logger.js';
import { HealthChecker } from './health/checker.js';
import { PassiveHealth } from './health/passive.js';
import { ProxyMetrics } from './admin/metrics.js';
import { localSource, type AdminServer } from './admin/server.js';
import { scriptLogger, loadToStart, adminAddress, wireReloads, handleSignals, openAdmin, probeTransport } from './wiring.js';
import { Watchdog } from './watchdog/watchdog.js';
import { watchdogProbe } from './watchdog/probe.js';
import { installDebugFreeze } from './watchdog/debug-freeze.js';
import { displayPath } from './core/display-path.js';
import { whereScriptIs } from './lua/script.js';
import { AcmeManager } from './acme/manager.js';

export interface StartOptions {
  file: string;
  log: Logger;
  /** watch the script's files and reload on save (default true) */
  watch?: boolean;
  /** handle SIGHUP (reload) and SIGTERM/SIGINT (graceful shutdown) (default false; the CLI turns it on) */
  signals?: boolean;
  /** told of every request and backend outcome (metrics, passive health) */
  observers?: ProxyObserver[];
  /** called after every reload attempt */
  onReload?: (r: ReloadResult) => void;
  /** 'remote': run no active health checks here; results arrive through `running.health.apply` (cluster workers) */
  healthChecks?: 'local' | 'remote';
  /** "host:port" of the admin listener; wins over the script's admin.listen; false = none (cluster workers) */
  admin?: string | false | null;
  /** admin token that wins over the script's admin.token (the CLI reads LUAPROXY_ADMIN_TOKEN) */
  adminToken?: string | null;
  /** set the logger's level from the script's log.level, at start and on every reload (the CLI, unless --log-level) */
  followLogLevel?: boolean;
  /** the script's bytes, instead of reading `file` at start (cluster workers boot from the primary's committed version) */
  source?: Buffer;
  /** the script already passed the gate (src/routing/gate.ts) elsewhere: a cluster worker booting its primary's version */
  admitted?: boolean;
  /** keep metrics even without an admin listener (cluster workers: the primary's /metrics sums them) */
  keepMetrics?: boolean;
  /** run the watchdog (watchdog.kill_after): end this process when its event loop stalls (default false; the CLI and cluster workers turn it on) */
  watchdog?: boolean;
  /** a cluster worker: certificates by ACME are ordered by the primary; this asks it for a name (resolves once it is stored, or failed) */
  acmeDelegate?: (name: string) => Promise<void>;
  /** what to load besides (or instead of) the file, asked at start and on every reload: a fleet instance's files from etcd and its backend list, --listen */
  loadFrom?: () => Pick<LoadOptions, 'sources' | 'backends' | 'backendsFrom' | 'listen'>;
  /** where new versions come from, for the reload guard: 'fleet' holds them to reload.fleet_max_moved (default 'file') */
  from?: 'file' | 'fleet';
  /** more sections of /status (a fleet instance: the fleet view) */
  status?: () => Promise<Record<string, unknown>>;
}

export interface Running {
  readonly server: ProxyServer;
  readonly reloader: Reloader;
  readonly address: AddressInfo;
  readonly config: Config;
  /** the admin listener (metrics, status, admin API), when one was asked for */
  readonly admin: AdminServer | null;
  readonly metrics: ProxyMetrics | null;
  /** active health checks (events `change` and `result`; `apply` for results from outside) */
  readonly health: HealthChecker;
  /** the watchdog, when this process runs one */
  readonly watchdog: Watchdog | null;
  /** the certificates obtained by ACME (idle without an acme table) */
  readonly acme: AcmeManager;
  stop(deadlineMs?: number): Promise<{ forced: boolean }>;
}


export async function start(opts: StartOptions): Promise<Running> {
  const log = opts.log;
  const fromScript = scriptLogger(log);
  // a script whose state only grows (a global table filled per request) is reloaded from its file
  const onStateOversize = (bytes: number, c: Config) => {
    if (c !== server.config) return;
    log.error({ bytes, limit: c.settings.script.state_size }, `${displayPath(c.file)}: the script's Lua state grew to about ${Math.round(bytes / 1048576)} MB across requests, past script.state_size (${Math.round(c.settings.script.state_size / 1048576)} MB): data kept in globals or upvalues only grows? Reloading the script from its file`);
    void reloader.reload('state-size');
  };
  // certificates by ACME outlive reloads: one orderer per process, handed to every config it loads
  const acme = new AcmeManager({ log, delegate: opts.acmeDelegate });
  // the same gate as a reload: a script whose own tests fail does not start
  const cfg = loadToStart(opts.file, log, { ...opts.loadFrom?.(), source: opts.source, onStateOversize, admitted: opts.admitted, acme });
  if (opts.followLogLevel) log.level = cfg.settings.log.level;
  const adminListen = adminAddress(opts.admin, cfg, opts.adminToken);
  // metrics are only kept when something can scrape them
  const metrics = adminListen || opts.keepMetrics ? new ProxyMetrics() : null;
  const health: HealthChecker = new HealthChecker({
    log,
    backends: () => server.config.backendSet.list,
    settings: () => server.config.settings.health,
    transport: probeTransport(() => server.config),
    remote: opts.healthChecks === 'remote',
  });
  const passive = new PassiveHealth(log, health);
  const server = new ProxyServer(cfg, { log, observers: [...(metrics ? [...(opts.observers ?? []), metrics] : opts.observers ?? []), passive.observer] });
  const address = await server.listen();
  // after the listeners: an order's HTTP-01 challenge is answered on them
  try {
    if (cfg.acme) acme.configure(cfg.acme, (n) => server.config.tlsAllow(n));
  } catch (e) {
    await server.close(0);
    throw e;
  }
  health.start();
  watchdogProbe.setScript(displayPath(cfg.file));
  watchdogProbe.onStall(whereScriptIs); // a stall inside a script names its file:line
  const watchdog = opts.watchdog ? new Watchdog(log) : null;
  if (watchdog) installDebugFreeze(log);
  watchdog?.configure(cfg.settings.watchdog.kill_after);
  log.info({ listen: `${address.address}:${address.port}`, backends: cfg.backends.map((b) => `${b.name}=${b.url}`), version: 1, hash: cfg.hash }, `luaproxy listening on ${address.address}:${address.port}`);

  const target = {
    get config() { return server.config; },
    async swap(next: Config, guard: Guard | null) {
      const dry = dryRun(next, server.recentSamples());
      checkGuard(dry, guard);
      await server.swap(next);
      return dry;
    },
  };
  const { reloader, watcher }: { reloader: Reloader; watcher: { close(): void } } = wireReloads({
    file: opts.file,
    log,
    target,
    watch: opts.watch !== false,
    from: opts.from,
    load: (file, previous) => loadConfig(file, { ...opts.loadFrom?.(), previous, log: fromScript, onStateOversize, acme }),
    onResult: (r) => {
      health.sync();
      metrics?.reload(r);
      if (r.ok) admin?.noteReload();
      if (r.ok && opts.followLogLevel) log.level = server.config.settings.log.level;
      if (r.ok) watchdogProbe.setScript(displayPath(server.config.file));
      if (r.ok) watchdog?.configure(server.config.settings.watchdog.kill_after);
      if (r.ok) configureAcme();
      opts.onReload?.(r);
    },
  });
  const configureAcme = () => {
    const live = server.config;
    try {
      if (live.acme) acme.configure(live.acme, (n) => server.config.tlsAllow(n));
      else acme.stop();
    } catch (e) {
      log.error({ err: e }, (e as Error).message);
    }
  };
  let stopping: Promise<{ forced: boolean }> | null = null;
  let unhook: (() => void) | null = null;
  const stop = (deadlineMs?: number) => {
    stopping ??= (async () => {
      watcher.close();
      health.stop();
      acme.stop();
      unhook?.();
      const done = await server.close(deadlineMs);
      await admin?.close();
      metrics?.close();
      watchdog?.stop();
      return done;
    })();
    return stopping;
  };
  if (opts.signals) {
    unhook = handleSignals(log, {
      reload: () => void reloader.reload('SIGHUP'),
      stop: async () => ((await stop()).forced ? 'shutdown deadline passed; closed the remaining connections' : 'all requests finished; bye'),
      deadline: () => server.config.settings.timeouts.shutdown,
      stopping: () => `shutting down gracefully, ${server.active} requests in flight`,
    });
  }

  let admin: AdminServer | null = null;
  const running: Running = {
    server,
    reloader,
    address,
    get config() { return server.config; },
    health,
    watchdog,
    acme,
    get admin() { return admin; },
    metrics,
    stop,
  };
  metrics?.attach(running);
  if (metrics && adminListen) {
    const local = localSource(running, metrics);
    const more = opts.status;
    const source = more ? { ...local, status: async (at: string) => ({ ...(await local.status(at) as Record<string, unknown>), ...(await more()) }) } : local;
    admin = await openAdmin(running, source, { listen: adminListen, log, token: opts.adminToken, fixedListen: Boolean(opts.admin), what: '' }, () => stop(0));
  }
  return running;
}
