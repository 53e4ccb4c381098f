/**
 * The certificates an HTTPS listener serves, read and checked once per config load, and
 * the choice of one for each handshake by the name the client sent (SNI): the exact name
 * first, then the one-label wildcard that covers it, then the configured default. When
 * two certificates name the same host, the first entry wins (later duplicates are kept
 * for their other names and reported by info(), not refused), so a renewal can be listed
 * before the certificate it replaces.
 */
import tls, { type SecureContext, type SecureVersion } from 'node:tls';
import { LpxError } from '../core/errors.js';
import { displayPath } from '../core/display-path.js';
import { normalizeName, wildcardFor } from './server-names.js';
import { certDate, oneLine, readEntry, type CertSpec, type CheckedEntry } from './read-entry.js';

export type { CertSpec } from './read-entry.js';

export interface CertInfo {
  /** the certificate file, as luaproxy names files (relative to the working folder when inside it) */
  file: string;
  /** the DNS names it serves, lower case */
  names: string[];
  /** the issuer's distinguished name on one line */
  issuer: string;
  /** hexadecimal, as node prints it */
  serial: string;
  notAfter: Date;
  /** whole days from now until notAfter */
  daysLeft: number;
}

/** the defaults of the store (candidates for config/defaults.ts, the one defaults object) */
export const tlsDefaults = {
  /** oldest TLS version a client may use */
  minVersion: 'TLSv1.2' as SecureVersion,
  /** a certificate expiring within this many days loads with a warning */
  warnDays: 14,
};

const DAY = 86_400_000;

interface Entry {
  checked: CheckedEntry;
  context: SecureContext;
  notAfter: Date;
}

export class CertStore {
  readonly #entries: Entry[];
  /** name (lower case, wildcards as `*.b.example.com`) -> the first entry that names it */
  readonly #byName: Map<string, Entry>;
  readonly #default: Entry | null;

  private constructor(entries: Entry[], byName: Map<string, Entry>, defaultEntry: Entry | null) {
    this.#entries = entries;
    this.#byName = byName;
    this.#default = defaultEntry;
  }

  /** read, check and index certificates; throws LpxError('LPX_CONFIG_INVALID', `${spec.where}.cert: ...<cert path>...`) */
  static load(
    specs: CertSpec[],
    opts: { baseDir: string; defaultName: string | null; minVersion?: SecureVersion; now?: Date; whereDefault?: string },
  ): { store: CertStore; files: Map<string, Buffer>; warnings: string[] } {
    const now = opts.now ?? new Date();
    const minVersion = opts.minVersion ?? tlsDefaults.minVersion;
    const files = new Map<string, Buffer>();
    const warnings: string[] = [];
    const entries: Entry[] = [];
    const byName = new Map<string, Entry>();
    for (const spec of specs) {
      const checked = readEntry(spec, { baseDir: opts.baseDir, now, warnDays: tlsDefaults.warnDays });
      files.set(checked.certPath, checked.certPem);
      files.set(checked.keyPath, checked.keyPem);
      warnings.push(...checked.warnings);
      let context: SecureContext;
      try {
        context = tls.createSecureContext({ cert: checked.certPem, key: checked.keyPem, minVersion });
      } catch (e) {
        throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}: "${spec.cert}" with key "${spec.key}" cannot serve TLS (${(e as Error).message})`, { cause: e });
      }
      const entry: Entry = { checked, context, notAfter: certDate(checked.chain[0].validTo) };
      entries.push(entry);
      for (const name of checked.names) if (!byName.has(name)) byName.set(name, entry);
    }
    let defaultEntry: Entry | null = null;
    if (opts.defaultName !== null) {
      defaultEntry = byName.get(normalizeName(opts.defaultName)) ?? null;
      if (!defaultEntry) {
        const known = byName.size ? [...byName.keys()].join(', ') : 'none (no certificate is loaded)';
        throw new LpxError('LPX_CONFIG_INVALID', `${opts.whereDefault ?? 'tls.default'}: expected one of the certificate names (${known}), got ${JSON.stringify(opts.defaultName)}`);
      }
    }
    return { store: new CertStore(entries, byName, defaultEntry), files, warnings };
  }

  /** the context for a client's SNI name (null/undefined = none sent): exact name first, then a one-label wildcard, then the default; null when nothing serves it */
  select(servername: string | null | undefined): SecureContext | null {
    return (servername ? this.match(servername) : null) ?? this.#default?.context ?? null;
  }

  /** the certificate that names `servername` exactly, else the one-label wildcard that covers it; null (not the default) when none does */
  match(servername: string): SecureContext | null {
    const name = normalizeName(servername);
    const exact = this.#byName.get(name);
    if (exact) return exact.context;
    const wildcard = wildcardFor(name);
    return (wildcard === null ? undefined : this.#byName.get(wildcard))?.context ?? null;
  }

  /** the certificate whose names include `name` exactly (for a Lua hook that names one), or null */
  byName(name: string): SecureContext | null {
    return this.#byName.get(normalizeName(name))?.context ?? null;
  }

  /** every loaded certificate, in the order of the entries */
  info(now: Date = new Date()): CertInfo[] {
    return this.#entries.map(({ checked, notAfter }) => ({
      file: displayPath(checked.certPath),
      names: [...checked.names],
      issuer: oneLine(checked.chain[0].issuer),
      serial: checked.chain[0].serialNumber,
      notAfter,
      daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY),
    }));
  }
}
