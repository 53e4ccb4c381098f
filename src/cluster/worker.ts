/**
 * A cluster worker: a whole proxy (the same start() as a single process) that takes its
 * script version from the primary instead of the disk and the file watcher. It boots
 * from the bytes the primary committed, prepares/commits/aborts reloads when told, runs
 * no health checks of its own (the primary's results are applied), and stops
 * gracefully when the primary says so or goes away.
 */
import { loadConfig, type Config } from '../config/load.js';
import { addressChange } from '../config/listeners.js';
import { start, type Running } from '../app.js';
import { scriptLogger } from '../wiring.js';
import { dryRun } from '../routing/gate.js';
import { isLpxError } from '../core/errors.js';
import { buildStatus } from '../admin/status.js';
import type { Logger } from '../core/logger.js';
import { decodeSource, type ToWorker, type ToPrimary } from './protocol.js';
import { watchdogProbe } from '../watchdog/probe.js';
import { displayPath } from '../core/display-path.js';

/** how long a worker waits for the primary's answer to an ACME request before it gives up on it */
const ACME_ASK_TIMEOUT_MS = 10 * 60_000;

export interface WorkerOptions {
  file: string;
  /** the process logger; the worker adds its id and pid to every line */
  log: Logger;
  followLogLevel?: boolean;
}

function send(m: ToPrimary): void {
  process.send?.(m);
}

export async function runWorker(opts: WorkerOptions): Promise<void> {
  const id = Number(process.env.LPX_WORKER_ID ?? 0);
  const log = opts.log.child({ worker: id, pid: process.pid });
  const fromScript = scriptLogger(log);
  // messages that arrive before the proxy is up wait their turn
  const queue: ToWorker[] = [];
  let handle: ((m: ToWorker) => void) | null = null;
  process.on('message', (m: ToWorker) => (handle ? handle(m) : queue.push(m)));

  const boot = await new Promise<Extract<ToWorker, { t: 'boot' }>>((resolve) => {
    handle = (m) => { if (m.t === 'boot') { handle = null; resolve(m); } else queue.push(m); };
    send({ t: 'hello' });
  });
  // ACME: the primary orders for the whole machine; a handshake here waits for its answer (bounded)
  const acmeWaiters = new Map<string, Array<() => void>>();
  const acmeDone = (name: string) => {
    for (const resolve of acmeWaiters.get(name) ?? []) resolve();
    acmeWaiters.delete(name);
  };
  const acmeDelegate = (name: string) => new Promise<void>((resolve) => {
    const list = acmeWaiters.get(name);
    if (list) list.push(resolve);
    else {
      acmeWaiters.set(name, [resolve]);
      send({ t: 'acme-obtain', name });
    }
    // a lost answer (the primary went away) must not hold the name for ever
    setTimeout(() => { if (acmeWaiters.get(name)?.includes(resolve)) acmeDone(name); }, ACME_ASK_TIMEOUT_MS).unref();
  });
  const running: Running = await start({
    file: opts.file, source: decodeSource(boot.source), log, watch: false, signals: false,
    healthChecks: 'remote', admin: false, followLogLevel: opts.followLogLevel, admitted: true,
    // the primary's admin listener sums every worker's metrics
    keepMetrics: true,
    // a stalled worker ends itself (exit code 71); the primary replaces it
    watchdog: true,
    acmeDelegate,
  });
  for (const u of boot.health) running.health.apply(u.name, u.healthy, u.detail);
  for (const name of boot.drained ?? []) running.config.backendSet.byName.get(name)?.setDrained(true);
  let version = boot.version;

  let pending: { id: number; next: Config } | null = null;
  let stopping = false;
  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ inflight: running.server.active }, `worker ${id}: ${why}; finishing in-flight requests`);
    void running.stop().then(({ forced }) => {
      log.info({ forced }, `worker ${id} stopped`);
      log.flush?.();
      setImmediate(() => process.exit(0));
    });
  };

  // what the primary's admin listener shows of this worker
  const answer = async (q: 'metrics' | 'status'): Promise<unknown> => {
    const metrics = running.metrics;
    if (!metrics) return null;
    if (q === 'metrics') return metrics.registry.getMetricsAsJSON();
    const s = buildStatus(running, metrics, '');
    return { pid: process.pid, version, hash: running.config.hash, traffic: s.traffic, backends: s.backends, recent_errors: s.recent_errors, process: s.process };
  };

  const onMessage = (m: ToWorker) => {
    switch (m.t) {
      case 'prepare': {
        try {
          const old = running.config;
          const next = loadConfig(opts.file, { previous: old, source: decodeSource(m.source), log: fromScript, acme: running.acme });
          const moved = addressChange(old.listeners, next.listeners);
          if (moved) throw new Error(`listen changed from ${moved.from} to ${moved.to}; in cluster mode a new listen address needs a restart`);
          const dry = dryRun(next, running.server.recentSamples());
          pending = { id: m.id, next };
          send({ t: 'prepared', id: m.id, ok: true, hash: next.hash, moved: dry.moved, compared: dry.compared, failing: dry.failing ?? 0, succeeded: dry.succeeded ?? 0 });
        } catch (e) {
          send({ t: 'prepared', id: m.id, ok: false, error: (e as Error).message, code: isLpxError(e) ? e.code : 'LPX_RELOAD_REFUSED' });
        }
        break;
      }
      case 'commit': {
        const p = pending;
        pending = null;
        if (!p || p.id !== m.id) { send({ t: 'committed', id: m.id, ok: false, error: 'nothing prepared for this reload' }); break; }
        running.server.swap(p.next).then(() => {
          running.health.sync();
          watchdogProbe.setScript(displayPath(p.next.file));
          running.watchdog?.configure(p.next.settings.watchdog.kill_after);
          try {
            if (p.next.acme) running.acme.configure(p.next.acme, (n) => running.config.tlsAllow(n));
          } catch (e) {
            log.error({ err: e }, (e as Error).message);
          }
          version = m.version;
          log.info({ version: m.version, hash: p.next.hash }, `worker ${id}: version ${m.version} live (${p.next.hash})`);
          send({ t: 'committed', id: m.id, ok: true });
        }, (e: Error) => send({ t: 'committed', id: m.id, ok: false, error: e.message }));
        break;
      }
      case 'abort':
        if (pending?.id === m.id) pending = null; // a loaded config changes nothing until it goes live
        break;
      case 'health':
        for (const u of m.updates) running.health.apply(u.name, u.healthy, u.detail);
        break;
      case 'ask':
        void answer(m.q).then((data) => send({ t: 'answer', id: m.id, data }), (e: Error) => {
          log.error({ err: e }, `worker ${id}: cannot answer the primary's ${m.q} request: ${e.message}`);
          send({ t: 'answer', id: m.id, data: null });
        });
        break;
      case 'drain': {
        const b = running.config.backendSet.byName.get(m.name);
        b?.setDrained(m.drained);
        send({ t: 'answer', id: m.id, data: b ? b.view() : null });
        break;
      }
      case 'acme-stored':
        running.acme.refresh(m.name);
        acmeDone(m.name);
        break;
      case 'acme-done':
        acmeDone(m.name);
        break;
      case 'shutdown':
        shutdown('asked to stop');
        break;
      default:
        break;
    }
  };
  handle = onMessage;
  for (const m of queue.splice(0)) onMessage(m);

  // the primary coordinates shutdown; a terminal's Ctrl-C or a stray SIGHUP reaching the
  // whole process group must not stop or reload one worker on its own
  process.on('SIGINT', () => {});
  process.on('SIGHUP', () => {});
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // the primary went away (killed): never keep serving an orphan version
  process.on('disconnect', () => shutdown('the primary went away'));

  const a = running.address;
  send({ t: 'ready', pid: process.pid, address: a.address, port: a.port, hash: running.config.hash });
}
