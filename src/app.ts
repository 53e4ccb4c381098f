/**
 * Puts the layers together for `luaproxy run`: load the script, start the traffic
 * listener, wire reload triggers (file saves, SIGHUP) and graceful shutdown. The admin
 * listener and health checks hang off the same handle.
 */
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from './config/load.js';
import { ProxyServer, type ProxyObserver } from './proxy/server.js';
import { Reloader, type ReloadResult } from './reload/reloader.js';
import { FileWatcher } from './reload/watch.js';
import type { Logger } from './core/logger.js';

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
}

export interface Running {
  readonly server: ProxyServer;
  readonly reloader: Reloader;
  readonly address: AddressInfo;
  readonly config: Config;
  stop(deadlineMs?: number): Promise<{ forced: boolean }>;
}

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

export async function start(opts: StartOptions): Promise<Running> {
  const log = opts.log;
  const fromScript = scriptLogger(log);
  const cfg = loadConfig(opts.file, { log: fromScript });
  for (const w of cfg.warnings) log.warn(w);
  const server = new ProxyServer(cfg, { log, observers: opts.observers });
  const address = await server.listen();
  log.info({ listen: `${address.address}:${address.port}`, backends: cfg.backends.map((b) => `${b.name}=${b.url}`), version: 1, hash: cfg.hash }, `luaproxy listening on ${address.address}:${address.port}`);

  const watcher = new FileWatcher(() => void reloader.reload('file'));
  const reloader = new Reloader(server, {
    file: opts.file,
    log,
    load: (file, previous) => loadConfig(file, { previous, log: fromScript }),
    samples: () => server.recentSamples(),
    onResult: (r) => {
      if (opts.watch !== false) watcher.watch(server.config.files.keys());
      opts.onReload?.(r);
    },
  });
  if (opts.watch !== false) watcher.watch(cfg.files.keys());

  let stopping: Promise<{ forced: boolean }> | null = null;
  const onHup = () => void reloader.reload('SIGHUP');
  const stop = (deadlineMs?: number) => {
    stopping ??= (async () => {
      watcher.close();
      if (opts.signals) process.removeListener('SIGHUP', onHup);
      return server.close(deadlineMs);
    })();
    return stopping;
  };
  if (opts.signals) {
    process.on('SIGHUP', onHup);
    const shutdown = (sig: string) => {
      log.info({ signal: sig, inflight: server.active }, `${sig}: shutting down gracefully (deadline ${server.config.settings.timeouts.shutdown}s)`);
      void stop().then(({ forced }) => {
        log.info({ forced }, forced ? 'shutdown deadline passed; closed the remaining connections' : 'all requests finished; bye');
        log.flush?.();
        setImmediate(() => process.exit(0));
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  }

  return {
    server,
    reloader,
    address,
    get config() { return server.config; },
    stop,
  };
}
