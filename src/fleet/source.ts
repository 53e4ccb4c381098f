/**
 * A fleet instance's view of etcd: a mirror of the keys under the prefix (every version
 * key, the drain marks), read whole at one revision and then kept current by one watch
 * from the next revision, so it moves through the same ordered history every other
 * instance sees. It emits 'version' when a version key changed and 'drain' when a drain
 * mark did; the reloader coalesces bursts, and the newest mirror is what it loads.
 *
 * While etcd is away the mirror stands still and the instance serves on: `staleSeconds`
 * says for how long it has not been in step (0 while the watch is connected). etcd3's
 * watch manager reconnects with a backoff and resumes from the last revision it saw.
 */
import { EventEmitter } from 'node:events';
import type { Etcd3, Watcher } from 'etcd3';
import type { Logger } from '../core/logger.js';
import { DRAIN_DIR, INSTANCES_DIR, isVersionKey, versionOf, type Entry, type Version } from './version.js';

interface RawKv { key: Buffer; value: Buffer; mod_revision: string }

export class FleetSource extends EventEmitter {
  /** relative key -> entry: version keys and drain marks */
  private readonly mirror = new Map<string, Entry>();
  /** the etcd revision the mirror is at (0: never read) */
  revision = 0;
  /** in step with etcd: the last read succeeded and the watch is connected */
  connected = false;
  /** when the instance stopped being in step (null: in step, or never was) */
  private since: number | null = Date.now();
  private watcher: Watcher | null = null;
  private closed = false;

  constructor(private readonly client: Etcd3, readonly prefix: string, private readonly log: Logger) {
    super();
  }

  /** seconds since the mirror was last known to be in step with etcd (0 while it is) */
  staleSeconds(now = Date.now()): number {
    return this.connected || this.since === null ? 0 : Math.round((now - this.since) / 100) / 10;
  }

  /** has etcd (as last read) any version at all */
  get hasScript(): boolean {
    return this.mirror.has('config.lua');
  }

  /** the version the mirror holds now (throws when its backend list is not JSON) */
  current(): Version {
    return versionOf(this.mirror.values(), this.prefix);
  }

  /** names drained fleet-wide (drain/<name> keys) */
  drained(): Set<string> {
    const out = new Set<string>();
    for (const k of this.mirror.keys()) if (k.startsWith(DRAIN_DIR)) out.add(k.slice(DRAIN_DIR.length));
    return out;
  }

  /** read every key under the prefix at one revision; false when etcd did not answer within `timeoutMs` */
  async read(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const res = await Promise.race([
        this.client.getAll().prefix(this.prefix).options({ deadline: Date.now() + timeoutMs }).exec(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
      ]);
      this.mirror.clear();
      for (const kv of res.kvs as RawKv[]) this.put(kv);
      this.revision = Number(res.header.revision);
      return true;
    } catch (e) {
      this.log.debug({ err: e }, `etcd read of ${this.prefix} failed: ${(e as Error).message}`);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Keep in step from now on: read the prefix (unless it was just read), then watch it,
   * retrying with a backoff (0.5 s doubling to 15 s) until etcd answers. When etcd cancels
   * the watch (its start revision was compacted away after a long outage), it starts over
   * with a fresh read, and says what changed meanwhile ('version' and 'drain').
   */
  async follow(reread = this.revision === 0): Promise<void> {
    let delay = 500;
    let fresh = !reread;
    while (!this.closed) {
      if (fresh || await this.read(3000)) {
        try {
          await this.watch();
          return;
        } catch (e) {
          this.log.debug({ err: e }, `etcd watch failed to start: ${(e as Error).message}`);
        }
      }
      fresh = false;
      await new Promise((r) => setTimeout(r, delay * (0.8 + Math.random() * 0.4)).unref());
      delay = Math.min(delay * 2, 15_000);
    }
  }

  /** watch the prefix from the revision after the mirror's, for good (until close) */
  private async watch(): Promise<void> {
    const w = await this.client.watch().prefix(this.prefix).startRevision(String(this.revision + 1)).create();
    if (this.closed) { await w.cancel(); return; }
    this.watcher = w;
    this.inStep(true);
    w.on('data', (res) => {
      let version = false;
      let drain = false;
      for (const ev of res.events) {
        const key = (ev.kv.key as Buffer).toString('utf8').slice(this.prefix.length);
        if (key.startsWith(INSTANCES_DIR)) continue;
        if (isVersionKey(key)) version = true;
        else if (key.startsWith(DRAIN_DIR)) drain = true;
        else continue;
        if (ev.type === 'Put') this.put(ev.kv as unknown as RawKv);
        else this.mirror.delete(key);
      }
      const rev = Number(res.header?.revision ?? 0);
      if (rev > this.revision) this.revision = rev;
      if (drain) this.emit('drain');
      if (version) this.emit('version');
    });
    w.on('disconnected', (err) => {
      if (this.connected) this.log.error({ err, stale_since: new Date().toISOString() }, `etcd watch lost (${err?.message ?? 'disconnected'}); serving the last good version, reconnecting with a backoff`);
      this.inStep(false);
    });
    w.on('connected', () => {
      if (!this.connected) this.log.warn({ revision: this.revision }, `etcd watch back; catching up from revision ${this.revision}`);
      this.inStep(true);
      // a reconnect resumes from the last revision seen; anything missed arrives as data, and a reload is harmless otherwise
      this.emit('version');
    });
    w.on('error', (err) => {
      // the watch is over (etcd canceled it): read everything again and watch from there
      this.log.error({ err }, `etcd watch ended (${err.message}); reading ${this.prefix} again`);
      this.inStep(false);
      if (this.watcher !== w || this.closed) return;
      this.watcher = null;
      void w.cancel().catch(() => {});
      void this.follow(true).then(() => { this.emit('drain'); this.emit('version'); });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.watcher;
    this.watcher = null;
    if (w) await w.cancel().catch(() => {});
  }

  private inStep(ok: boolean): void {
    if (ok) { this.connected = true; this.since = null; return; }
    if (this.connected || this.since === null) this.since = Date.now();
    this.connected = false;
  }

  private put(kv: RawKv): void {
    const key = kv.key.toString('utf8').slice(this.prefix.length);
    if (!isVersionKey(key) && !key.startsWith(DRAIN_DIR)) return;
    this.mirror.set(key, { key, value: kv.value, modRevision: Number(kv.mod_revision) });
  }
}
