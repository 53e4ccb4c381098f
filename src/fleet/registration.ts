/**
 * An instance's entry under <prefix>instances/<id>, held by a lease: it disappears on its
 * own a few seconds after the instance dies. It says where the instance listens, which
 * version it serves (fleet hash and etcd revision), since when, and its last refusal.
 * When etcd goes away the lease is lost; the entry is written again under a new lease
 * once etcd answers, with a backoff between tries.
 */
import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '../core/logger.js';
import { INSTANCES_DIR } from './version.js';

export interface InstanceEntry {
  id: string;
  /** the traffic listener, host:port */
  address: string;
  /** the admin listener, host:port, or null */
  admin: string | null;
  pid: number;
  host: string;
  started_at: string;
  /** the fleet hash and etcd revision of the live version */
  hash: string;
  revision: number;
  /** when that version went live here */
  live_since: string;
  /** the instance started from its local cache (etcd was unreachable) and has not caught up yet */
  from_cache: boolean;
  /** the last version this instance refused, or null */
  last_refusal: { revision: number; hash: string | null; at: string; code: string | null; error: string } | null;
}

const TTL_S = 10;

export class Registration {
  private lease: Lease | null = null;
  private entry: InstanceEntry | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = 500;
  private closed = false;
  private writing = false;
  private dirty = false;

  constructor(private readonly client: Etcd3, private readonly prefix: string, private readonly log: Logger) {}

  get key(): string {
    return `${this.prefix}${INSTANCES_DIR}${this.entry?.id ?? ''}`;
  }

  /** write (or rewrite) the entry; writes are serialized, the newest entry wins, and a failure is retried in the background */
  update(entry: InstanceEntry): void {
    this.entry = entry;
    this.dirty = true;
    if (!this.writing) void this.write();
  }

  private async write(): Promise<void> {
    this.writing = true;
    try {
      while (this.dirty && !this.closed && this.entry) {
        this.dirty = false;
        const entry = this.entry;
        if (!this.lease || this.lease.revoked()) this.lease = this.newLease();
        await this.lease.put(`${this.prefix}${INSTANCES_DIR}${entry.id}`).value(JSON.stringify(entry));
        this.backoffMs = 500;
      }
    } catch (e) {
      this.dirty = true;
      this.log.debug({ err: e }, `fleet registration failed: ${(e as Error).message}; trying again`);
      this.retry();
    } finally {
      this.writing = false;
    }
  }

  private newLease(): Lease {
    const lease = this.client.lease(TTL_S, { autoKeepAlive: true });
    lease.on('lost', (err) => {
      if (this.closed) return;
      this.log.warn({ err: err?.message }, `fleet registration lease lost (${err?.message ?? 'etcd unreachable'}); registering again when etcd answers`);
      if (this.lease === lease) this.lease = null;
      this.dirty = true;
      this.retry();
    });
    return lease;
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    const delay = this.backoffMs * (0.8 + Math.random() * 0.4);
    this.backoffMs = Math.min(this.backoffMs * 2, 15_000);
    this.timer = setTimeout(() => { this.timer = null; if (!this.writing) void this.write(); }, delay);
    this.timer.unref();
  }

  /** remove the entry (revoke its lease) */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const lease = this.lease;
    this.lease = null;
    if (lease) await Promise.race([lease.revoke().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}
