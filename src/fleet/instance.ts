/**
 * `luaproxy run --etcd`: one instance of a fleet. The script, its modules and the backend
 * list come from etcd (src/fleet/source.ts); every change the watch delivers goes through
 * the reload gate like a saved file does (fresh state, checks, dry run with the guard,
 * the script's own tests, one swap), the newest of a burst winning. A refused version
 * changes nothing here; it is logged, counted, shown in /status and in this instance's
 * registration. Each version that goes live is written to the local cache, and an
 * instance that cannot reach etcd at start serves the cached one, loudly, until etcd
 * answers again.
 *
 * The files of a version never touch the disk as a script folder: they are loaded from
 * memory (LoadOptions.sources) as if they lived in the cache folder, so `require` finds
 * exactly the modules of that version and nothing left over from an older one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { Gauge } from 'prom-client';
import { start, type Running } from '../app.js';
import { handleSignals } from '../wiring.js';
import type { Logger } from '../core/logger.js';
import { LpxError } from '../core/errors.js';
import type { ReloadResult } from '../reload/reloader.js';
import { connect } from './client.js';
import { FleetSource } from './source.js';
import { readCache, writeCache } from './cache.js';
import { Registration, type InstanceEntry } from './registration.js';
import { readFleet } from './view.js';
import { BACKENDS_KEY, sourcesIn, type Version } from './version.js';

/** how long a change from etcd waits for the rest of its burst before the reload starts */
const BURST_MS = 50;

export interface FleetOptions {
  hosts: string[];
  prefix: string;
  /** the cache folder (created when missing) */
  cache: string;
  log: Logger;
  /** this instance's name in the fleet (default: hostname/listen address) */
  id?: string;
  /** --listen: overrides the script's listen */
  listen?: string;
  /** --admin: overrides the script's admin.listen */
  admin?: string | null;
  adminToken?: string | null;
  signals?: boolean;
  watchdog?: boolean;
  followLogLevel?: boolean;
  /** how long to wait for etcd at start before starting from the cache (default 3000 ms) */
  connectTimeoutMs?: number;
  /** where the LUAPROXY_ETCD_* credentials are read (default process.env; the CLI puts --etcd-* flags in it) */
  env?: NodeJS.ProcessEnv;
}

export interface FleetInstance {
  readonly running: Running;
  readonly source: FleetSource;
  /** the version live here */
  readonly live: Version;
  readonly id: string;
  stop(deadlineMs?: number): Promise<void>;
}

export async function startFleet(o: FleetOptions): Promise<FleetInstance> {
  const log = o.log.child({ fleet: o.prefix });
  const client: Etcd3 = await connect(o.hosts, 5000, o.env);
  const source = new FleetSource(client, o.prefix, log);
  fs.mkdirSync(o.cache, { recursive: true });
  const dir = fs.realpathSync(o.cache);
  const file = path.join(dir, 'config.lua');
  const where = `etcd at ${o.hosts.join(',')}`;

  let live: Version;
  let fromCache = false;
  const reached = await source.read(o.connectTimeoutMs ?? 3000);
  let fromEtcd: Version | null = null;
  let unreadable: LpxError | null = null; // etcd's backend list is not JSON
  if (reached && source.hasScript) {
    try { fromEtcd = source.current(); } catch (e) { unreadable = e as LpxError; }
  }
  if (fromEtcd) {
    live = fromEtcd;
  } else {
    const cached = readCache(dir, o.prefix);
    if (!cached) {
      client.close();
      if (unreadable) throw unreadable;
      throw new LpxError('LPX_FLEET_NO_VERSION', reached
        ? `${where} holds no script at ${o.prefix}config.lua, and ${dir} holds no cached version; publish one first: luaproxy push config.lua --etcd ${o.hosts.join(',')}`
        : `${where} is unreachable, and ${dir} holds no cached version to start from; start etcd (or check --etcd and the LUAPROXY_ETCD_* variables) and try again`);
    }
    live = cached.version;
    fromCache = true;
    const why = unreadable ? `etcd's version is refused: ${unreadable.message}` : reached ? `${where} holds no script at ${o.prefix}config.lua` : `${where} is unreachable`;
    log.error({ cache: dir, revision: live.revision, hash: live.hash, saved_at: cached.savedAt },
      `STARTING FROM THE LOCAL CACHE: ${why}; serving the cached version (revision ${live.revision}, hash ${live.hash}, saved ${cached.savedAt}) until etcd answers`);
  }

  // what the next load takes: a pinned version (starting from the cache), else etcd's newest once read, else the live one
  let pin: Version | null = fromCache ? live : null;
  let candidate: Version = live;
  let attempted: { revision: number; hash: string | null } = { revision: live.revision, hash: live.hash };
  const loadFrom = () => {
    if (pin) candidate = pin;
    else if (source.revision > 0 && source.hasScript) {
      attempted = { revision: source.revision, hash: null };
      candidate = source.current(); // throws when the backend list is not JSON: a refusal
    } else candidate = live;
    attempted = { revision: candidate.revision, hash: candidate.hash };
    return {
      sources: sourcesIn(candidate, dir),
      ...(candidate.backends !== undefined ? { backends: candidate.backends, backendsFrom: `${o.prefix}${BACKENDS_KEY}` } : {}),
      ...(o.listen !== undefined ? { listen: o.listen } : {}),
    };
  };

  const startedAt = new Date().toISOString();
  let liveSince = startedAt;
  let lastRefusal: InstanceEntry['last_refusal'] = unreadable ? { revision: source.revision, hash: null, at: startedAt, code: unreadable.code, error: unreadable.message } : null;
  let registration: Registration | null = null;
  let id = o.id ?? '';
  let running!: Running;

  const entry = (): InstanceEntry => {
    const a = running.address;
    return {
      id, address: `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`, admin: running.admin?.where ?? null,
      pid: process.pid, host: os.hostname(), started_at: startedAt,
      hash: live.hash, revision: live.revision, live_since: liveSince, from_cache: fromCache, last_refusal: lastRefusal,
    };
  };

  const applyDrains = (all: boolean, before: Set<string>) => {
    const now = source.drained();
    for (const b of running.config.backendSet.list) {
      if (now.has(b.name) && (all || !before.has(b.name))) b.setDrained(true);
      else if (!now.has(b.name) && before.has(b.name)) b.setDrained(false);
    }
    return now;
  };
  let drained = new Set<string>();

  const onReload = (r: ReloadResult) => {
    if (r.ok) {
      const changed = candidate.hash !== live.hash || candidate.revision !== live.revision;
      live = candidate;
      if (!r.unchanged) liveSince = r.at;
      if (source.connected) fromCache = false;
      if (changed) saveCache();
      drained = applyDrains(true, drained);
    } else {
      lastRefusal = { revision: attempted.revision, hash: attempted.hash, at: r.at, code: r.code ?? null, error: r.error ?? '' };
    }
    if (running) registration?.update(entry());
  };
  const saveCache = () => {
    try { writeCache(dir, o.prefix, live); } catch (e) { log.error({ err: e }, `cannot write the fleet cache in ${dir}: ${(e as Error).message}`); }
  };

  let refusedAtStart: ReloadResult | null = null;
  const startWith = () => start({
    file, log: o.log, watch: false, from: 'fleet',
    // signals are handled below: SIGTERM must also take this instance out of the fleet view
    signals: false, watchdog: o.watchdog, followLogLevel: o.followLogLevel,
    admin: o.admin ?? null, adminToken: o.adminToken,
    loadFrom, onReload,
    status: async () => ({ fleet: await status() }),
  });
  try {
    running = await startWith();
  } catch (e) {
    const cached = fromCache ? null : readCache(dir, o.prefix);
    const scriptAtFault = e instanceof LpxError && /^LPX_(CONFIG|RELOAD|ROUTE)_/.test(e.code);
    if (!cached || !scriptAtFault) { client.close(); throw e; }
    // etcd's newest version is refused at start: serve the cached one
    refusedAtStart = { ok: false, version: 1, hash: '', trigger: 'fleet', at: new Date().toISOString(), durationMs: 0, error: e.message, code: e.code };
    lastRefusal = { revision: attempted.revision, hash: attempted.hash, at: refusedAtStart.at, code: e.code, error: e.message };
    log.error({ err: e.message, revision: attempted.revision }, `etcd's version (revision ${attempted.revision}) is refused: ${e.message}; STARTING FROM THE LOCAL CACHE (revision ${cached.version.revision}, hash ${cached.version.hash})`);
    live = pin = cached.version;
    fromCache = true;
    running = await startWith();
  }
  pin = null;
  live = candidate;
  if (!fromCache) saveCache();
  if (!id) id = `${os.hostname()}/${entry().address}`;
  drained = applyDrains(true, new Set());

  const metrics = running.metrics;
  if (metrics) {
    new Gauge({ name: 'luaproxy_fleet_stale_seconds', help: 'Seconds since this instance was last in step with etcd (0 while its watch is connected)', registers: [metrics.registry], collect() { this.set(source.staleSeconds()); } });
    new Gauge({ name: 'luaproxy_fleet_connected', help: '1 while the etcd watch is connected, 0 while the instance serves on without it', registers: [metrics.registry], collect() { this.set(source.connected ? 1 : 0); } });
    new Gauge({ name: 'luaproxy_fleet_revision', help: 'etcd revision of the version live on this instance', registers: [metrics.registry], collect() { this.set(live.revision); } });
  }

  const status = async (): Promise<Record<string, unknown>> => {
    const mine = { id, prefix: o.prefix, etcd: o.hosts, connected: source.connected, stale_s: source.staleSeconds(), from_cache: fromCache, revision: live.revision, hash: live.hash, live_since: liveSince, last_refusal: lastRefusal, cache: dir };
    if (!source.connected) return { ...mine, view: null, view_error: 'etcd is unreachable; the fleet view needs it' };
    try {
      return { ...mine, view: await readFleet(client, o.prefix, 1500) };
    } catch (e) {
      return { ...mine, view: null, view_error: (e as Error).message };
    }
  };

  // a burst of changes (writes landing a few ms apart) becomes one reload of the newest mirror;
  // changes that arrive while a reload runs share one follow-up (the Reloader's own coalescing)
  let burst: NodeJS.Timeout | null = null;
  const reload = () => {
    burst ??= setTimeout(() => {
      burst = null;
      void running.reloader.reload('fleet', { force: forceOf() });
    }, BURST_MS);
  };
  const forceOf = (): boolean => {
    try { return source.current().pushed?.force === true; } catch { return false; }
  };
  source.on('version', reload);
  source.on('drain', () => { drained = applyDrains(false, drained); });

  registration = new Registration(client, o.prefix, log);
  // etcd now, or (started from the cache) as soon as it answers: watch from the revision read, and catch up
  void source.follow().then(() => {
    registration?.update(entry());
    if (fromCache || refusedAtStart) reload();
  });
  log.info({ id, revision: live.revision, hash: live.hash, from_cache: fromCache }, `fleet instance ${id}: serving revision ${live.revision} (hash ${live.hash})${fromCache ? ' from the local cache' : ''}`);

  let stopping: Promise<void> | null = null;
  const stop = (deadlineMs?: number): Promise<void> => {
    stopping ??= (async () => {
      if (burst) clearTimeout(burst);
      await registration?.close(); // revoke the lease: the instance leaves the fleet view at once
      await source.close();
      await running.stop(deadlineMs);
      client.close();
    })();
    return stopping;
  };
  if (o.signals) {
    handleSignals(log, {
      reload: () => void running.reloader.reload('SIGHUP'),
      stop: async () => { await stop(); return 'all requests finished; left the fleet; bye'; },
      deadline: () => running.config.settings.timeouts.shutdown,
      stopping: () => `shutting down gracefully, ${running.server.active} requests in flight`,
    });
  }

  return {
    running, source, id,
    get live() { return live; },
    stop,
  };
}
