/**
 * What the two composition roots wire the same way: app.ts (one process, also each
 * cluster worker) and cluster/primary.ts (a cluster). Loading the script through the
 * gate, the admin address and its safety check, reloads fed by file saves, the signals,
 * and opening the admin listener each live here once, so the two modes cannot drift.
 */
import { loadConfig, parseHostPort, type Config, type ListenAddress, type LoadOptions } from './config/load.js';
import { checkCandidate } from './routing/gate.js';
import { Reloader, type ReloadResult, type ReloadTarget } from './reload/reloader.js';
import { FileWatcher } from './reload/watch.js';
import { AdminServer, assertAdminSafe, type AdminControl, type AdminSource } from './admin/server.js';
import { LpxError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import type { ProbeTransport } from './health/probe.js';

/** print() and proxy.log() output as log lines at the level the script asked for */
export function scriptLogger(log: Logger): (level: string, msg: string, where: string) => void {
  return (level, msg, where) => (log as unknown as Record<string, (o: object, m: string) => void>)[level]?.call(log, { script: where }, msg);
}

/** log uncaught errors before anything else happens, then exit non-zero (never die quietly) */
export function installProcessHandlers(log: Logger): void {
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e }, `uncaught exception: ${e.message}`);
    log.flush?.();
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    log.error({ err: e }, `unhandled rejection: ${(e as Error)?.message ?? e}`);
  });
}

/**
 * Load the script to start with and pass it through the gate (its own tests), as every
 * reload does. `admitted`: it already passed elsewhere (a cluster worker booting the
 * version its primary admitted).
 */
export function loadToStart(file: string, log: Logger, opts: LoadOptions & { admitted?: boolean } = {}): Config {
  const cfg = loadConfig(file, { log: scriptLogger(log), ...opts });
  if (!opts.admitted) checkCandidate(cfg);
  for (const w of cfg.warnings) log.warn(w);
  return cfg;
}

/** how the health checks reach a backend beyond its URL: the live config's entry for it (TLS options, PROXY header) */
export function probeTransport(config: () => Config): (b: { name: string }) => ProbeTransport | undefined {
  return (b) => {
    const spec = config().backends.find((x) => x.name === b.name);
    return spec && { ca: spec.ca?.pem ?? null, verify: spec.verify, servername: spec.servername, proxyProtocol: spec.proxyProtocol };
  };
}

/** where the admin listener goes: `flag` (--admin) wins over admin.listen; false: none. Throws when the address is bad or unsafe. */
export function adminAddress(flag: string | false | null | undefined, cfg: Config, token: string | null | undefined): ListenAddress | null {
  const at = flag === false ? null : flag ?? cfg.settings.admin.listen;
  if (!at) return null;
  const listen = parseHostPort(at);
  if (!listen) throw new LpxError('LPX_ADMIN_LISTEN', `admin listen address: expected "host:port", got ${JSON.stringify(at)}`);
  assertAdminSafe(listen, token || cfg.settings.admin.token);
  return listen;
}

export interface ReloadWiring {
  file: string;
  log: Logger;
  target: ReloadTarget;
  /** reload when a loaded file is saved */
  watch: boolean;
  /** where new versions come from (the guard: reload.max_moved or reload.fleet_max_moved) */
  from?: 'file' | 'fleet';
  /** load a new version (from the file, with backend state carried over from `previous`) */
  load: (file: string, previous: Config) => Config;
  /** after every attempt, once the watched files follow the live version */
  onResult: (r: ReloadResult) => void;
}

/** a Reloader over `target`, triggered by saves of every file the live version loaded */
export function wireReloads(w: ReloadWiring): { reloader: Reloader; watcher: FileWatcher } {
  const watcher = new FileWatcher(() => void reloader.reload('file'));
  const reloader: Reloader = new Reloader(w.target, {
    file: w.file,
    log: w.log,
    load: w.load,
    from: w.from,
    onResult: (r) => {
      if (w.watch) watcher.watch(w.target.config.files.keys());
      w.onResult(r);
    },
  });
  if (w.watch) watcher.watch(w.target.config.files.keys());
  return { reloader, watcher };
}

/**
 * SIGHUP reloads; SIGTERM and SIGINT stop gracefully (`stop`), log, and exit 0. Returns
 * a function that stops listening for SIGHUP (called when stopping from code).
 */
export function handleSignals(log: Logger, opts: { reload: () => void; stop: () => Promise<string>; deadline: () => number; stopping: () => string }): () => void {
  const onHup = () => opts.reload();
  process.on('SIGHUP', onHup);
  const shutdown = (sig: string) => {
    log.info({ signal: sig }, `${sig}: ${opts.stopping()} (deadline ${opts.deadline()}s)`);
    void opts.stop().then((bye) => {
      log.info(bye);
      log.flush?.();
      setImmediate(() => process.exit(0));
    });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return () => process.removeListener('SIGHUP', onHup);
}

/** open the admin listener; when it cannot listen, run `undo` (stop what was started) and throw */
export async function openAdmin(control: AdminControl, source: AdminSource, opts: { listen: ListenAddress; log: Logger; token?: string | null; fixedListen: boolean; what: string }, undo: () => Promise<unknown>): Promise<AdminServer> {
  const admin = new AdminServer(control, source, { listen: opts.listen, log: opts.log, token: opts.token, fixedListen: opts.fixedListen });
  try {
    await admin.listen();
  } catch (e) {
    await undo();
    throw e;
  }
  opts.log.info({ admin: admin.where }, `admin listening on http://${admin.where}/${opts.what} (metrics at /metrics, status at /status)`);
  return admin;
}
