/**
 * The certificates one process obtains by ACME and keeps renewed. It outlives reloads:
 * each live config hands it its `acme` settings and its tls_allow (configure), and every
 * config's TLS chooser asks it for a name's certificate (context) or for an order
 * (obtain). What it holds is loaded from the storage folder at start, so nothing still
 * valid is ordered again; every order takes the name's lock in the storage first and looks
 * in the storage once more, so instances that share it place one order per name and all
 * serve the result. Orders pass the limits (limits.ts); a failure backs the name off and
 * keeps the certificate it had serving. Each issuance, refusal and failure is a log line
 * and a count (metrics read `counts`).
 *
 * In a cluster one process orders for the whole machine: the primary's manager orders
 * and renews (`onStored` tells the workers), and each worker's manager follows it
 * (`delegate`): it serves what the storage holds, asks the primary for a name it lacks,
 * and loads the result from the storage.
 */
import tls, { type SecureContext } from 'node:tls';
import os from 'node:os';
import crypto, { X509Certificate } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import { LpxError } from '../core/errors.js';
import type { AcmeConfig, AcmeRuntime } from '../config/acme.js';
import { certDate, oneLine } from '../tls/read-entry.js';
import { AcmeStorage, type StoredPair } from './storage.js';
import { OrderLimits } from './limits.js';
import { orderCertificate, newAccountKey } from './order.js';

export type AcmeEvent = 'issued' | 'renewed' | 'loaded' | 'failed' | 'refused' | 'limited';

/** one name's certificate and what happened to it */
interface Managed {
  name: string;
  context: SecureContext | null;
  serial: string | null;
  issuer: string | null;
  notBefore: number;
  notAfter: number;
  lastError: string | null;
  lastErrorAt: number;
}

/** how long a lock holds when its holder dies mid-order, and how long another instance waits for it */
const LOCK_TTL_MS = 10 * 60_000;
const LOCK_POLL_MS = 250;
/** the renewal timer looks at least this often (a clock jump, a missed timer) */
const TICK_MAX_MS = 3_600_000;
const TICK_MIN_MS = 1_000;

export interface ManagedStatus {
  name: string;
  issuer: string | null;
  serial: string | null;
  not_after: string | null;
  next_renewal: string | null;
  ordering: boolean;
  last_error: string | null;
  last_error_at: string | null;
  retry_after: string | null;
}

export class AcmeManager implements AcmeRuntime {
  readonly counts: Record<AcmeEvent, number> = { issued: 0, renewed: 0, loaded: 0, failed: 0, refused: 0, limited: 0 };
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #owner = `${os.hostname()}/${process.pid}/${crypto.randomBytes(4).toString('hex')}`;
  #cfg: AcmeConfig | null = null;
  #allow: (name: string) => boolean = () => false;
  #storage: AcmeStorage | null = null;
  readonly #limits: OrderLimits;
  readonly #certs = new Map<string, Managed>();
  readonly #orders = new Map<string, Promise<SecureContext | null>>();
  readonly #tokens = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  readonly #delegate: ((name: string) => Promise<void>) | null;
  readonly #onStored: ((name: string) => void) | null;

  constructor(opts: {
    log: Logger;
    now?: () => number;
    /** a follower (a cluster worker): never orders; asks this to obtain a name (resolves when it is stored, or failed) */
    delegate?: (name: string) => Promise<void>;
    /** the orderer: told of each certificate it stored (a cluster primary tells its workers) */
    onStored?: (name: string) => void;
  }) {
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#delegate = opts.delegate ?? null;
    this.#onStored = opts.onStored ?? null;
    this.#limits = new OrderLimits({ inFlight: 4, perHour: 60 }, this.#now);
  }

  /**
   * Take the live config's settings (at start and after each reload): load what the
   * storage holds, order the static names that have no valid certificate, and set the
   * renewal timer. Throws LPX_ACME_STORAGE when the folder cannot be made.
   */
  configure(cfg: AcmeConfig, allow: (name: string) => boolean): void {
    const prev = this.#cfg;
    this.#cfg = cfg;
    this.#allow = allow;
    this.#stopped = false;
    this.#limits.configure({ inFlight: cfg.ordersInFlight, perHour: cfg.ordersPerHour });
    if (!prev || prev.storage !== cfg.storage || prev.directory !== cfg.directory) {
      const storage = new AcmeStorage(cfg.storage, cfg.directory);
      storage.prepare();
      this.#storage = storage;
      this.#certs.clear();
      for (const name of storage.names()) this.#loadStored(name);
      if (this.#certs.size) this.#log.info({ acme: [...this.#certs.keys()] }, `acme: loaded ${this.#certs.size} stored certificate${this.#certs.size === 1 ? '' : 's'} from ${storage.dir}`);
    }
    this.#tick();
  }

  /** stop the renewal timer (orders in flight finish on their own) */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  context(name: string): SecureContext | null {
    const m = this.#certs.get(name);
    return m && m.context && m.notAfter > this.#now() ? m.context : null;
  }

  obtain(name: string): Promise<SecureContext | null> {
    const running = this.#orders.get(name);
    if (running) return running;
    const m = this.#certs.get(name);
    if (m?.context && !this.#due(m)) return Promise.resolve(m.context);
    const p = (this.#delegate ? this.#follow(name, this.#delegate) : this.#order(name)).finally(() => this.#orders.delete(name));
    this.#orders.set(name, p);
    return p;
  }

  /** the orderer stored a certificate for `name` (a cluster primary says so): load it */
  refresh(name: string): void {
    this.#loadStored(name);
  }

  challenge(token: string): string | null {
    return this.#tokens.get(token) ?? this.#storage?.challenge(token) ?? null;
  }

  refused(name: string): void {
    this.counts.refused++;
    this.#log.info({ acme: { name, event: 'refused' } }, `acme: tls_allow refused ${JSON.stringify(name)}; its handshakes get the default certificate`);
  }

  /** every name this process manages, for /status */
  status(): Array<ManagedStatus & Record<string, unknown>> {
    const iso = (t: number) => (t ? new Date(t).toISOString() : null);
    return [...this.#certs.values()].sort((a, b) => a.name.localeCompare(b.name)).map((m) => ({
      name: m.name,
      issuer: m.issuer,
      serial: m.serial,
      not_after: iso(m.notAfter),
      next_renewal: m.context ? iso(this.#renewAt(m)) : null,
      ordering: this.#orders.has(m.name),
      last_error: m.lastError,
      last_error_at: iso(m.lastErrorAt),
      retry_after: iso(this.#limits.backoffUntil(m.name)),
    }));
  }

  /** a follower's obtain: what the storage holds, else the orderer's answer, loaded from the storage */
  async #follow(name: string, delegate: (name: string) => Promise<void>): Promise<SecureContext | null> {
    const stored = this.#loadStored(name);
    if (stored?.context && !this.#due(stored)) return stored.context;
    try {
      await delegate(name);
    } catch (e) {
      this.#log.error({ acme: { name } }, `acme: asking the orderer for ${JSON.stringify(name)} failed: ${(e as Error).message}`);
    }
    this.#loadStored(name);
    return this.context(name);
  }

  async #order(name: string): Promise<SecureContext | null> {
    const cfg = this.#cfg;
    const storage = this.#storage;
    if (!cfg || !storage) return null;
    // another instance sharing the storage may have got it already
    const stored = this.#loadStored(name);
    if (stored?.context && !this.#due(stored)) return stored.context;
    const current = () => this.context(name);
    const until = this.#limits.backoffUntil(name);
    if (until) {
      this.#limited(name, `backing off after a failed order until ${new Date(until).toISOString()}`);
      return current();
    }
    const release = await this.#limits.slot();
    let locked = false;
    try {
      // one order per name among the instances sharing the storage: wait for the lock, or for the certificate its holder stores
      for (const deadline = this.#now() + LOCK_TTL_MS; ;) {
        if (storage.tryLock(name, this.#owner, LOCK_TTL_MS, this.#now())) { locked = true; break; }
        const got = this.#loadStored(name);
        if (got?.context && !this.#due(got)) return got.context;
        if (this.#now() > deadline || this.#stopped) return current();
        await new Promise((r) => setTimeout(r, LOCK_POLL_MS).unref());
      }
      const after = this.#loadStored(name);
      if (after?.context && !this.#due(after)) return after.context;
      if (!this.#limits.takeRate()) {
        this.#limited(name, `acme.orders_per_hour (${cfg.ordersPerHour}) is used up`);
        return current();
      }
      const renewal = Boolean(this.#certs.get(name)?.context);
      this.#log.info({ acme: { name, event: 'ordering', directory: cfg.directory } }, `acme: ordering a certificate for ${JSON.stringify(name)}${renewal ? ' (renewal)' : ''}`);
      const accountKey = await storage.accountKey(newAccountKey);
      const pair = await orderCertificate({
        directory: cfg.directory,
        email: cfg.email,
        ca: cfg.ca,
        accountKey,
        name,
        keyType: cfg.keyType,
        challenges: {
          put: (token, ka) => { this.#tokens.set(token, ka); storage.putChallenge(token, ka); },
          remove: (token) => { this.#tokens.delete(token); storage.removeChallenge(token); },
        },
        debug: (msg) => this.#log.debug({ acme: { name } }, `acme-client: ${msg}`),
      });
      storage.write(name, pair);
      this.#onStored?.(name);
      const m = this.#install(name, pair);
      this.#limits.succeeded(name);
      const event = renewal ? 'renewed' : 'issued';
      this.counts[event]++;
      this.#log.info({ acme: { name, event, serial: m.serial, not_after: new Date(m.notAfter).toISOString() } }, `acme: ${event} ${JSON.stringify(name)}, serial ${m.serial}, valid until ${new Date(m.notAfter).toISOString()}`);
      this.#schedule();
      return m.context;
    } catch (e) {
      const wait = this.#limits.failed(name);
      const err = e instanceof LpxError ? e : new LpxError('LPX_ACME_ORDER', `acme: the order for ${JSON.stringify(name)} failed: ${problemText(e)}`, { cause: e });
      const m = this.#entry(name);
      m.lastError = err.message;
      m.lastErrorAt = this.#now();
      this.counts.failed++;
      this.#log.error({ acme: { name, event: 'failed', code: err.code, retry_in_s: Math.round(wait / 1000) } }, `${err.message}; retrying in ${Math.round(wait / 1000)} s at the earliest${m.context ? ' (the current certificate keeps serving)' : ''}`);
      this.#schedule();
      return current();
    } finally {
      if (locked) storage.unlock(name, this.#owner);
      release();
    }
  }

  #limited(name: string, why: string): void {
    this.counts.limited++;
    const m = this.#entry(name);
    const msg = `acme: no order for ${JSON.stringify(name)}: ${why}`;
    if (m.lastError !== msg) this.#log.warn({ acme: { name, event: 'limited', code: 'LPX_ACME_LIMIT' } }, msg);
    m.lastError = msg;
    m.lastErrorAt = this.#now();
  }

  #entry(name: string): Managed {
    let m = this.#certs.get(name);
    if (!m) {
      m = { name, context: null, serial: null, issuer: null, notBefore: 0, notAfter: 0, lastError: null, lastErrorAt: 0 };
      this.#certs.set(name, m);
    }
    return m;
  }

  /** the stored certificate of `name`, when it is newer than the one held (another instance renewed it): installed and returned */
  #loadStored(name: string): Managed | null {
    let pair: StoredPair | null;
    try {
      pair = this.#storage?.read(name) ?? null;
    } catch (e) {
      this.#log.error({ acme: { name } }, (e as Error).message);
      return this.#certs.get(name) ?? null;
    }
    const held = this.#certs.get(name);
    if (pair === null) return held ?? null;
    try {
      const leaf = new X509Certificate(pair.certPem);
      if (held?.serial === leaf.serialNumber) return held;
      const notAfter = certDate(leaf.validTo).getTime();
      if (held?.context && notAfter <= held.notAfter) return held;
      if (notAfter <= this.#now()) return held ?? null; // expired: order anew
      const m = this.#install(name, pair, leaf);
      this.counts.loaded++;
      return m;
    } catch (e) {
      this.#log.error({ acme: { name } }, `acme: the stored certificate of ${JSON.stringify(name)} cannot be used (${(e as Error).message}); ordering a new one`);
      return held ?? null;
    }
  }

  #install(name: string, pair: StoredPair, leaf = new X509Certificate(pair.certPem)): Managed {
    const m = this.#entry(name);
    m.context = tls.createSecureContext({ cert: pair.certPem, key: pair.keyPem, minVersion: 'TLSv1.2' });
    m.serial = leaf.serialNumber;
    m.issuer = oneLine(leaf.issuer);
    m.notBefore = certDate(leaf.validFrom).getTime();
    m.notAfter = certDate(leaf.validTo).getTime();
    m.lastError = null;
    m.lastErrorAt = 0;
    return m;
  }

  #renewAt(m: Managed): number {
    const life = m.notAfter - m.notBefore;
    const before = this.#cfg && this.#cfg.renewBefore > 0 && this.#cfg.renewBefore * 1000 < life ? this.#cfg.renewBefore * 1000 : life / 3;
    return m.notAfter - before;
  }

  #due(m: Managed): boolean {
    return this.#now() >= this.#renewAt(m);
  }

  /** renew what is due, order the static names still missing, and set the timer for the next time something is due */
  #tick(): void {
    // a follower orders nothing and renews nothing: the orderer does, and says so (refresh)
    if (this.#stopped || !this.#cfg || this.#delegate) return;
    const statics = new Set(this.#cfg.names);
    for (const name of statics) {
      const m = this.#certs.get(name);
      if ((!m?.context || this.#due(m)) && !this.#limits.backoffUntil(name) && !this.#orders.has(name)) void this.obtain(name);
    }
    for (const m of this.#certs.values()) {
      if (statics.has(m.name) || !m.context || !this.#due(m) || this.#orders.has(m.name) || this.#limits.backoffUntil(m.name)) continue;
      // an on-demand name is renewed only while the live script still allows it
      if (this.#allow(m.name)) void this.obtain(m.name);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped || !this.#cfg) return;
    if (this.#timer) clearTimeout(this.#timer);
    const now = this.#now();
    let next = now + TICK_MAX_MS;
    for (const m of this.#certs.values()) {
      const at = m.context ? this.#renewAt(m) : 0;
      const retry = this.#limits.backoffUntil(m.name);
      if (at) next = Math.min(next, Math.max(at, retry));
      else if (retry && this.#cfg.names.includes(m.name)) next = Math.min(next, retry);
    }
    this.#timer = setTimeout(() => this.#tick(), Math.min(Math.max(next - now, TICK_MIN_MS), TICK_MAX_MS));
    this.#timer.unref();
  }
}

/** what an ACME failure says: the server's problem document (type and detail) when it sent one, else the error's message */
function problemText(e: unknown): string {
  const err = e as Error & { code?: string };
  return err?.message ? `${err.message}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ''}` : String(e);
}
