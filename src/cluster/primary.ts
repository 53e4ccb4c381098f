/**
 * The cluster primary of `luaproxy run --workers N`: forks N workers that share the
 * listen port (node:cluster), owns the script version and the reload triggers (file
 * saves, SIGHUP), reloads in two phases so every worker runs the same version or none
 * switches, runs the active health checks once for the machine and pushes each change
 * to every worker, and replaces a worker that dies, loudly. It serves no traffic itself.
 */
import cluster, { type Worker } from 'node:cluster';
import { loadConfig, type Config } from '../config/load.js';
import { addressChange } from '../config/listeners.js';
import type { AdminServer } from '../admin/server.js';
import { ClusterAdmin } from './admin.js';
import type { Reloader, ReloadResult } from '../reload/reloader.js';
import { HealthChecker } from '../health/checker.js';
import { LpxError } from '../core/errors.js';
import { scriptLogger, loadToStart, adminAddress, wireReloads, handleSignals, openAdmin, probeTransport } from '../wiring.js';
import type { Logger } from '../core/logger.js';
import { twoPhase, type Participant, type PrepareResult } from './coordinator.js';
import { checkGuard, type DryRun, type Guard } from '../routing/gate.js';
import { encodeSource, isToPrimary, type HealthUpdate, type ToPrimary, type ToWorker } from './protocol.js';
import { AcmeManager } from '../acme/manager.js';
import { WATCHDOG_EXIT_CODE } from '../watchdog/watchdog.js';

/** how long the admin listener waits for a worker's metrics or status */
const ADMIN_ASK_TIMEOUT_MS = 5_000;

export interface PrimaryOptions {
  file: string;
  workers: number;
  log: Logger;
  /** reload when the script's files are saved (default true) */
  watch?: boolean;
  /** handle SIGHUP/SIGTERM/SIGINT (the CLI) */
  signals?: boolean;
  /** how long a worker may take to prepare or commit a reload */
  reloadTimeoutMs?: number;
  /** "host:port" of the admin listener (--admin); wins over the script's admin.listen */
  admin?: string | null;
  /** admin token that wins over the script's admin.token (LUAPROXY_ADMIN_TOKEN) */
  adminToken?: string | null;
}

interface Slot {
  id: number;
  worker: Worker | null;
  pid: number;
  ready: boolean;
  /** deaths in a row without a stable minute in between: the restart backoff grows with it */
  deaths: number;
  startedAt: number;
  /** the script version this worker runs (booted with, or committed to) */
  version: number;
  /** times this worker died and was replaced */
  restarts: number;
}

export interface ClusterHandle {
  readonly reloader: Reloader;
  readonly config: Config;
  /** the cluster's admin listener, when one was asked for */
  readonly admin: AdminServer | null;
  /** worker pids, by worker id */
  pids(): number[];
  stop(): Promise<void>;
}

export async function runPrimary(opts: PrimaryOptions): Promise<ClusterHandle> {
  const log = opts.log.child({ role: 'primary' });
  const fromScript = scriptLogger(log);
  // ACME: one process orders for the whole machine, here; the workers serve what it stores
  const acme = new AcmeManager({ log, onStored: (name) => { for (const s of slots) sendTo(s.worker, { t: 'acme-stored', name }); } });
  let config = loadToStart(opts.file, log, { acme });
  // the admin listener lives here and shows the whole cluster; refuse an unsafe one before forking
  const adminListen = adminAddress(opts.admin, config, opts.adminToken);
  let version = 1;
  let committedSource = sourceOf(config);
  const slots: Slot[] = Array.from({ length: opts.workers }, (_, i) => ({ id: i + 1, worker: null, pid: 0, ready: false, deaths: 0, startedAt: 0, version: 0, restarts: 0 }));
  let stopping = false;
  const reloadTimeoutMs = opts.reloadTimeoutMs ?? 15_000;

  // replies to prepare/commit, by message id and worker id
  let nextId = 1;
  const waiting = new Map<string, (m: ToPrimary) => void>();
  const sendTo = (w: Worker | null, m: ToWorker) => { if (w && w.isConnected()) w.send(m); };

  // health: checked here, once per machine; every change goes to every worker
  const health = new HealthChecker({ log, backends: () => config.backendSet.list, settings: () => config.settings.health, transport: probeTransport(() => config) });
  health.on('change', (c: { name: string; healthy: boolean; detail: string }) => {
    const updates: HealthUpdate[] = [{ name: c.name, healthy: c.healthy, detail: c.detail }];
    for (const s of slots) sendTo(s.worker, { t: 'health', updates });
  });
  const healthNow = (): HealthUpdate[] => health.snapshot().map((h) => ({ name: h.name, healthy: h.healthy, detail: h.detail }));

  // the cluster is up when every first-generation worker serves
  let listening: ((addr: string) => void) | null = null;
  let listenAt = `${config.listen.host}:${config.listen.port}`;
  const allReady = new Promise<string>((resolve) => { listening = resolve; });

  const fork = (slot: Slot) => {
    const w = cluster.fork({ LPX_WORKER_ID: String(slot.id) });
    slot.worker = w;
    slot.pid = w.process.pid ?? 0;
    slot.ready = false;
    slot.startedAt = Date.now();
    log.info({ worker: slot.id, pid: slot.pid }, `worker ${slot.id} starting (pid ${slot.pid})`);
    w.on('message', (m: unknown) => {
      if (!isToPrimary(m)) return;
      // boot from the committed bytes, not the disk: the file may hold a refused edit
      if (m.t === 'hello') {
        slot.version = version;
        const drained = config.backendSet.list.filter((b) => b.drained).map((b) => b.name);
        return sendTo(w, { t: 'boot', file: config.file, source: committedSource, version, health: healthNow(), drained });
      }
      if (m.t === 'ready') {
        slot.ready = true;
        log.info({ worker: slot.id, pid: m.pid, hash: m.hash }, `worker ${slot.id} (pid ${m.pid}) serving on ${m.address}:${m.port}`);
        if (slots.every((x) => x.ready)) listening?.(`${m.address}:${m.port}`);
        return;
      }
      if (m.t === 'acme-obtain') {
        // the worker asked its tls_allow already; the same script decides here too
        const name = m.name;
        const asked = config.acme !== null && config.tlsAllow(name) ? acme.obtain(name) : Promise.resolve(null);
        void asked.finally(() => sendTo(slot.worker, { t: 'acme-done', name }));
        return;
      }
      if ('id' in m) waiting.get(`${m.id}:${slot.id}`)?.(m);
    });
    w.on('exit', (code, signal) => {
      slot.ready = false;
      slot.worker = null;
      // a worker that never reported back must not leave a reload waiting forever
      for (const [k, resolve] of waiting) if (k.endsWith(`:${slot.id}`)) resolve({ t: 'prepared', id: Number(k.split(':')[0]), ok: false, error: `worker ${slot.id} exited`, code: 'LPX_RELOAD_REFUSED' });
      // its own watchdog ended it: its event loop had stalled (its fatal line says where)
      const stalled = code === WATCHDOG_EXIT_CODE;
      if (stalled) clusterAdmin.watchdogKill();
      if (stopping) return;
      slot.restarts++;
      const stable = Date.now() - slot.startedAt > 60_000;
      slot.deaths = stable ? 1 : slot.deaths + 1;
      const delay = slot.deaths <= 1 ? 0 : Math.min(30_000, 250 * 2 ** (slot.deaths - 2));
      log.error({ worker: slot.id, pid: slot.pid, code, signal, restartInMs: delay }, `WORKER DIED: worker ${slot.id} (pid ${slot.pid}) exited with ${signal ? `signal ${signal}` : `code ${code}`}${stalled ? ' (its watchdog ended it: the event loop had stalled)' : ''}; starting a replacement${delay ? ` in ${delay} ms (it keeps dying)` : ''}`);
      setTimeout(() => { if (!stopping) fork(slot); }, delay).unref();
    });
  };

  const ask = (slot: Slot, id: number, m: ToWorker): Promise<ToPrimary> => new Promise((resolve) => {
    const key = `${id}:${slot.id}`;
    waiting.set(key, (reply) => { waiting.delete(key); resolve(reply); });
    sendTo(slot.worker, m);
  });

  // the primary is the reload target: swap = prepare everywhere, then commit everywhere
  const target = {
    get config() { return config; },
    async swap(next: Config, guard: Guard | null): Promise<DryRun> {
      const moved = addressChange(config.listeners, next.listeners);
      if (moved) throw new LpxError('LPX_RELOAD_REFUSED', `listen changed from ${moved.from} to ${moved.to}; in cluster mode a new listen address needs a restart`);
      const source = sourceOf(next);
      const id = nextId++;
        const parts: Participant[] = slots.filter((s) => s.worker).map((s) => ({
          label: `worker ${s.id} (pid ${s.pid})`,
          prepare: async (): Promise<PrepareResult> => {
            const r = await ask(s, id, { t: 'prepare', id, source });
            return r.t === 'prepared' ? (r.ok ? { ok: true, hash: r.hash, moved: r.moved, compared: r.compared, failing: r.failing, succeeded: r.succeeded } : { ok: false, error: r.error }) : { ok: false, error: 'unexpected reply' };
          },
          commit: async () => {
            const r = await ask(s, id, { t: 'commit', id, version: version + 1 });
            if (r.t !== 'committed' || !r.ok) throw new Error(r.t === 'committed' ? r.error ?? 'commit failed' : 'unexpected reply');
            s.version = version + 1;
          },
          abort: () => { waiting.delete(`${id}:${s.id}`); sendTo(s.worker, { t: 'abort', id }); },
        }));
        // the guard holds the cluster's whole dry run (every worker's share of the traffic) before anyone commits
        const out = await twoPhase(parts, next.hash, reloadTimeoutMs, (sum) => checkGuard(sum, guard));
        if (!out.ok) {
          throw new LpxError(out.code === 'LPX_RELOAD_GUARD' ? 'LPX_RELOAD_GUARD' : 'LPX_RELOAD_REFUSED', out.error);
        }
        config = next;
        committedSource = source;
        config.backendSet.attach();
        version++;
        health.sync();
        for (const f of out.failedCommits) log.error({ error: f.error }, `${f.label} failed to switch to version ${version}: ${f.error}; restarting it on the new version`);
        // any worker not on the new version (it failed to switch, or it was booting while
        // the reload ran) restarts, and boots from the committed version
        for (const s of slots) if (s.worker && s.version !== version && s.version !== 0) s.worker.process.kill('SIGKILL');
        return { moved: out.moved, compared: out.compared, failing: out.failing, succeeded: out.succeeded };
    },
  };

  const { reloader, watcher }: { reloader: Reloader; watcher: { close(): void } } = wireReloads({
    file: opts.file,
    log,
    target,
    watch: opts.watch !== false,
    load: (file, previous) => loadConfig(file, { previous, log: fromScript, acme }),
    onResult: (r: ReloadResult) => {
      clusterAdmin.reload(r);
      if (r.ok) configureAcme();
      if (r.ok) admin?.noteReload();
    },
  });

  // the admin listener's view of the cluster: the primary's version and reloads, the workers over IPC
  const askAll = async (make: (id: number) => ToWorker): Promise<Array<{ worker: number; data: unknown }>> => {
    const id = nextId++;
    return Promise.all(slots.map(async (s) => {
      if (!s.worker || !s.ready) return { worker: s.id, data: null };
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => { timer = setTimeout(() => { waiting.delete(`${id}:${s.id}`); resolve(null); }, ADMIN_ASK_TIMEOUT_MS); });
      const r = await Promise.race([ask(s, id, make(id)), late]);
      clearTimeout(timer);
      return { worker: s.id, data: r && r.t === 'answer' ? r.data : null };
    }));
  };
  let admin: AdminServer | null = null;
  const reloaderTarget = { get config() { return config; }, reloader };
  const clusterAdmin = new ClusterAdmin({
    get config() { return config; },
    get version() { return version; },
    get listen() { return listenAt; },
    reloader,
    workers: () => slots.map((s) => ({ id: s.id, pid: s.pid, alive: s.worker !== null, ready: s.ready, restarts: s.restarts, version: s.version })),
    ask: (q) => askAll((id) => ({ t: 'ask', id, q })),
    drain: (name, drained) => askAll((id) => ({ t: 'drain', id, name, drained })),
  });

  function configureAcme(): void {
    try {
      if (config.acme) acme.configure(config.acme, (n) => config.tlsAllow(n));
      else acme.stop();
    } catch (e) {
      log.error({ err: e }, (e as Error).message);
    }
  }

  cluster.setupPrimary({ silent: false });
  for (const s of slots) fork(s);
  health.start();
  const addr = await allReady;
  listenAt = addr;
  // once the workers serve: an order's HTTP-01 challenge is answered by them, from the storage
  configureAcme();
  log.info({ listen: addr, workers: opts.workers, version, hash: config.hash }, `luaproxy cluster: ${opts.workers} workers on ${addr}`);

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    acme.stop();
    await admin?.close();
    watcher.close();
    health.stop();
    const deadline = (config.settings.timeouts.shutdown + 5) * 1000;
    await Promise.all(slots.map((s) => new Promise<void>((resolve) => {
      const w = s.worker;
      if (!w) return resolve();
      const t = setTimeout(() => { w.process.kill('SIGKILL'); }, deadline);
      w.once('exit', () => { clearTimeout(t); resolve(); });
      sendTo(w, { t: 'shutdown' });
    })));
  };

  if (adminListen) {
    admin = await openAdmin(reloaderTarget, clusterAdmin, { listen: adminListen, log, token: opts.adminToken, fixedListen: Boolean(opts.admin), what: ' for the whole cluster' }, stop);
  }

  if (opts.signals) {
    handleSignals(log, {
      reload: () => void reloader.reload('SIGHUP'),
      stop: async () => { await stop(); return 'all workers stopped; bye'; },
      deadline: () => config.settings.timeouts.shutdown,
      stopping: () => 'stopping the workers gracefully',
    });
  }

  return {
    reloader,
    get config() { return config; },
    get admin() { return admin; },
    pids: () => slots.map((s) => s.pid),
    stop,
  };
}

function sourceOf(cfg: Config): string {
  const b = cfg.files.get(cfg.file);
  if (!b) throw new LpxError('LPX_CONFIG_FILE', `${cfg.file}: the loaded script's bytes are missing`);
  return encodeSource(b);
}

/** `--workers N` or `auto` (one per core) */
export function parseWorkers(v: string | undefined, cores: number): number {
  if (v === undefined || v === '') return 1;
  if (v === 'auto') return Math.max(1, cores);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new LpxError('LPX_CLI_USAGE', `--workers: expected a whole number from 1 to 1024 or "auto", got ${JSON.stringify(v)}`);
  return n;
}
