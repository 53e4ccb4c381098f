/**
 * The script's `acme` table (automatic certificates) and its `tls_allow(host)` hook. The
 * table's values are type-checked with every other setting (defaults.ts); this adds what
 * a type cannot say (a directory URL, the challenge and key kinds, names that are host
 * names, a CA file that exists) with `file:line`, resolves the storage folder beside the
 * script, and asks the hook, once per name per loaded script, whether a name that has no
 * certificate may get one. The process-wide ordering lives in src/acme/; a Config reaches
 * it only through the small AcmeRuntime interface below.
 */
import path from 'node:path';
import type { SecureContext } from 'node:tls';
import type { LuaScript } from '../lua/script.js';
import { LpxError } from '../core/errors.js';
import { readCaFile } from '../tls/ca-file.js';
import { normalizeName } from '../tls/server-names.js';
import type { Settings } from './defaults.js';
import type { SourceLines } from './locate.js';

export const ACME_CHALLENGES = ['http-01'] as const;
export const ACME_KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-4096'] as const;
export type AcmeKeyType = (typeof ACME_KEY_TYPES)[number];

/** the acme table, checked and resolved: what src/acme/ orders with */
export interface AcmeConfig {
  directory: string;
  email: string | null;
  /** absolute path of the storage folder */
  storage: string;
  /** extra CAs for the ACME server's HTTPS (PEM), or null */
  ca: Buffer | null;
  /** static names, normalized, without duplicates */
  names: string[];
  /** seconds; 0 = a third of the lifetime */
  renewBefore: number;
  challenge: 'http-01';
  keyType: AcmeKeyType;
  /** seconds a handshake waits for an order in progress */
  wait: number;
  ordersInFlight: number;
  ordersPerHour: number;
}

/**
 * What a Config needs from the process that orders certificates (src/acme/manager.ts):
 * the certificate it holds for a name, an order (or the one in progress) for a name, and
 * the answer to an HTTP-01 challenge token.
 */
export interface AcmeRuntime {
  /** the managed certificate serving `name` now, or null */
  context(name: string): SecureContext | null;
  /** obtain a certificate for `name` (joins an order in progress); resolves null when it cannot (logged and counted there) */
  obtain(name: string): Promise<SecureContext | null>;
  /** the key authorization to answer `/.well-known/acme-challenge/<token>` with, or null */
  challenge(token: string): string | null;
  /** a name tls_allow refused (counted and logged by the runtime, once per name per script) */
  refused(name: string): void;
  /** every managed name (issuer, expiry, next renewal, last error), for /status */
  status(): Array<Record<string, unknown>>;
  /** issued, renewed, loaded, failed, refused, limited: since start, for /metrics */
  readonly counts: Readonly<Record<string, number>>;
}

/** a DNS name an ACME server can issue for (no wildcard: HTTP-01 cannot prove one) */
const NAME_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isOrderableName(name: string): boolean {
  return NAME_RE.test(name) && !/^[0-9.]+$/.test(name);
}

/** the `acme` settings (already type-checked into `s`) checked further and resolved; `file:line` from the script's text */
export function readAcme(s: Settings['acme'], src: SourceLines, scriptFile: string): AcmeConfig {
  const line = src.global('acme');
  const at = (needle: string) => src.at(src.after(line, needle, true) ?? line);
  const bad = (key: string, expected: string, got: unknown) => new LpxError('LPX_CONFIG_INVALID', `${at(key)}acme.${key}: expected ${expected}, got ${JSON.stringify(got)}`);
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(s.directory)) throw bad('directory', 'the URL of an ACME directory like "https://acme-staging-v02.api.letsencrypt.org/directory"', s.directory);
  if (s.email !== null && !/^[^\s@]+@[^\s@]+$/.test(s.email)) throw bad('email', 'an e-mail address or nil', s.email);
  if (s.storage === '') throw bad('storage', 'the path of a folder', s.storage);
  if (!(ACME_CHALLENGES as readonly string[]).includes(s.challenge)) throw bad('challenge', ACME_CHALLENGES.map((c) => `"${c}"`).join(' or '), s.challenge);
  if (!(ACME_KEY_TYPES as readonly string[]).includes(s.key_type)) throw bad('key_type', `one of ${ACME_KEY_TYPES.map((c) => `"${c}"`).join(', ')}`, s.key_type);
  if (!(s.orders_in_flight >= 1) || !Number.isInteger(s.orders_in_flight)) throw bad('orders_in_flight', 'a whole number of 1 or more', s.orders_in_flight);
  if (!(s.orders_per_hour >= 1)) throw bad('orders_per_hour', 'a number of 1 or more', s.orders_per_hour);
  const names: string[] = [];
  s.names.forEach((raw, i) => {
    const n = normalizeName(raw);
    if (!isOrderableName(n)) {
      throw new LpxError('LPX_CONFIG_INVALID', `${src.at(src.after(line, raw, false) ?? line)}acme.names[${i + 1}]: expected a DNS name like "www.example.com" (no wildcard, no IP address), got ${JSON.stringify(raw)}`);
    }
    if (!names.includes(n)) names.push(n);
  });
  const baseDir = path.dirname(scriptFile);
  const ca = s.ca === null ? null : readCaFile(`${at('ca')}acme.ca`, s.ca, baseDir).pem;
  return {
    directory: s.directory,
    email: s.email,
    storage: path.resolve(baseDir, s.storage),
    ca,
    names,
    renewBefore: s.renew_before,
    challenge: 'http-01',
    keyType: s.key_type as AcmeKeyType,
    wait: s.wait,
    ordersInFlight: s.orders_in_flight,
    ordersPerHour: s.orders_per_hour,
  };
}

/** the most names whose tls_allow answer is remembered (clients pick the names: the cache stays bounded) */
const ALLOW_MAX = 10_000;

/**
 * tls_allow(host) for one loaded script (`names`: acme.names; null: no acme table, so no
 * name may): true when the name may get a certificate. Names
 * in acme.names are always allowed; an orderable name is asked about once (the answer is
 * kept until the next reload); a script without the hook allows only acme.names. The hook
 * runs under the route budget; an error in it refuses the name and is logged with its line.
 */
export function tlsAllower(names: readonly string[] | null, script: LuaScript, log: (level: string, msg: string, where: string) => void): (name: string) => boolean {
  if (names === null) return () => false;
  const statics = new Set(names.map(normalizeName));
  const hasHook = script.globalTypeName('tls_allow') === 'function';
  const answers = new Map<string, boolean>();
  return (raw) => {
    const name = normalizeName(raw);
    if (statics.has(name)) return true;
    if (!hasHook || !isOrderableName(name)) return false;
    const known = answers.get(name);
    if (known !== undefined) return known;
    let ok = false;
    try {
      const [v] = script.callGlobal('tls_allow', [name]);
      ok = v === true;
    } catch (e) {
      const err = e as LpxError;
      log('error', `tls_allow(${JSON.stringify(name)}) failed, so the name is refused: ${err.message}${err.traceback ? `\n${err.traceback}` : ''}`, err.where ?? script.functionWhere('tls_allow') ?? '');
    }
    if (answers.size >= ALLOW_MAX) answers.clear();
    answers.set(name, ok);
    return ok;
  };
}

/**
 * The TLS context for a server name when ACME is on: a certificate of the `tls` table
 * (or the tls_certificate hook) that names it wins; then a managed certificate; then, for
 * a name tls_allow allows, an order (the handshake waits up to acme.wait seconds, then
 * gets the default); anything else gets the default (or fails without one).
 */
export function acmeChooser(opts: {
  /** the `tls` table's own answer for a name, without the default: exact, wildcard, or the tls_certificate hook */
  own: (name: string) => SecureContext | null;
  fallback: SecureContext | null;
  allow: (name: string) => boolean;
  runtime: AcmeRuntime;
  wait: number;
}): (name: string | null) => SecureContext | null | Promise<SecureContext | null> {
  const { own, fallback, allow, runtime } = opts;
  const refused = new Set<string>();
  return (raw) => {
    if (raw === null) return fallback;
    const name = normalizeName(raw);
    const mine = own(name);
    if (mine !== null) return mine;
    const managed = runtime.context(name);
    if (managed !== null) return managed;
    if (!allow(name)) {
      if (!refused.has(name) && isOrderableName(name)) {
        if (refused.size >= ALLOW_MAX) refused.clear();
        refused.add(name);
        runtime.refused(name);
      }
      return fallback;
    }
    return new Promise<SecureContext | null>((resolve) => {
      const timer = setTimeout(() => resolve(fallback), opts.wait * 1000);
      timer.unref();
      runtime.obtain(name).then((ctx) => { clearTimeout(timer); resolve(ctx ?? fallback); }, () => { clearTimeout(timer); resolve(fallback); });
    });
  };
}
