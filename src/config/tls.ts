/**
 * The script's `tls` table: the certificates TLS listeners serve, which one a client
 * without a known server name gets, and the lowest protocol version. The files are read
 * and checked here, at load, like any other part of the script (src/tls/ does the
 * checking), and become part of the config's files: saving a renewed certificate
 * reloads the config, and new handshakes get it.
 */
import path from 'node:path';
import type { SecureContext, SecureVersion } from 'node:tls';
import type { LuaScript } from '../lua/script.js';
import { LpxError } from '../core/errors.js';
import { LuaFunctionRef, type LuaPlain } from '../lua/values.js';
import { CertStore, type CertSpec } from '../tls/certificates.js';
import { didYouMean } from './did-you-mean.js';
import type { ListenerSpec } from './listeners.js';
import type { SourceLines } from './locate.js';
import { describe } from './describe.js';

const FIELDS = ['certificates', 'default', 'min_version'];
const VERSIONS = ['TLSv1.2', 'TLSv1.3'];

export interface TlsLoaded {
  store: CertStore | null;
  /** each certificate and key file read, with its bytes */
  files: Map<string, Buffer>;
  warnings: string[];
}

export function readTls(v: LuaPlain, listeners: readonly ListenerSpec[], src: SourceLines, scriptFile: string, acmeOn = false): TlsLoaded {
  const line = src.global('tls');
  /** `file:line: ` of a key (`needle =`) in the tls table, or of a literal value when `literal` */
  const at = (needle?: string, literal = false) => src.at((needle ? src.after(line, needle, !literal) : null) ?? line);
  const needed = listeners.findIndex((l) => l.tls);
  if (v === null) {
    // with acme on, TLS listeners serve the certificates it obtains
    if (needed >= 0 && !acmeOn) throw new LpxError('LPX_CONFIG_INVALID', `${src.at(src.global('listen'))}listen[${needed + 1}]: tls = true, but the script has no tls = { certificates = { { cert = "...", key = "..." } } }`);
    return { store: null, files: new Map(), warnings: [] };
  }
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof LuaFunctionRef) {
    throw new LpxError('LPX_CONFIG_INVALID', `${at()}tls: expected a table like tls = { certificates = { { cert = "a.pem", key = "a.key" } } }, got ${describe(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (!FIELDS.includes(k)) throw new LpxError('LPX_CONFIG_INVALID', `${at(k)}tls.${k}: unknown setting${didYouMean(k, FIELDS)}`);
  }
  const list = v.certificates;
  if (!Array.isArray(list) || list.length === 0) {
    throw new LpxError('LPX_CONFIG_INVALID', `${at('certificates')}tls.certificates: expected a list like { { cert = "certs/a.pem", key = "certs/a.key" } }, got ${describe(list ?? null)}`);
  }
  const specs: CertSpec[] = list.map((entry, i) => {
    const label = `tls.certificates[${i + 1}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || entry instanceof LuaFunctionRef) {
      throw new LpxError('LPX_CONFIG_INVALID', `${at('certificates')}${label}: expected { cert = "file.pem", key = "file.key" }, got ${describe(entry)}`);
    }
    for (const k of Object.keys(entry)) {
      if (k !== 'cert' && k !== 'key') throw new LpxError('LPX_CONFIG_INVALID', `${at('certificates')}${label}: unknown field "${k}"${didYouMean(k, ['cert', 'key'])}`);
    }
    const cert = entry.cert;
    const key = entry.key;
    const where = `${typeof cert === 'string' && cert !== '' ? at(cert, true) : at('certificates')}${label}`;
    if (typeof cert !== 'string' || cert === '') throw new LpxError('LPX_CONFIG_INVALID', `${where}.cert: expected the path of a PEM certificate, got ${describe(cert ?? null)}`);
    if (typeof key !== 'string' || key === '') throw new LpxError('LPX_CONFIG_INVALID', `${where}.key: expected the path of a PEM private key, got ${describe(key ?? null)}`);
    return { cert, key, where };
  });
  const dflt = v.default ?? null;
  if (dflt !== null && typeof dflt !== 'string') throw new LpxError('LPX_CONFIG_INVALID', `${at('default')}tls.default: expected a host name one of the certificates serves, got ${describe(dflt)}`);
  const minVersion = v.min_version ?? 'TLSv1.2';
  if (typeof minVersion !== 'string' || !VERSIONS.includes(minVersion)) {
    throw new LpxError('LPX_CONFIG_INVALID', `${at('min_version')}tls.min_version: expected one of ${VERSIONS.map((x) => `"${x}"`).join(', ')}, got ${describe(minVersion)}`);
  }
  const loaded = CertStore.load(specs, { baseDir: path.dirname(scriptFile), defaultName: dflt, minVersion: minVersion as SecureVersion, whereDefault: `${at('default')}tls.default` });
  const warnings = [...loaded.warnings];
  if (needed < 0) warnings.push(`${at()}tls: certificates are loaded, but no listener has tls = true`);
  return { store: loaded.store, files: loaded.files, warnings };
}


/** the most server names whose choice is remembered (a client picks the names: the cache must stay bounded) */
const CHOICES_MAX = 10_000;

/**
 * The TLS context for a client's server name: the script's `tls_certificate(host)` hook
 * when it defines one (called once per new name, its answer kept until the next reload;
 * nil falls back to the rules), else the certificates' own names (exact, one-label
 * wildcard, default). A hook that fails fails that handshake, and is logged with its line.
 */
export function tlsChooser(store: CertStore | null, script: LuaScript, log: (level: string, msg: string, where: string) => void, opts: { withDefault?: boolean } = {}): (name: string | null) => SecureContext | null {
  if (store === null) return () => null;
  // without the default (ACME is on: a name no certificate names may get one of its own)
  const rules = opts.withDefault === false ? (name: string | null) => (name === null ? null : store.match(name)) : (name: string | null) => store.select(name);
  if (script.globalTypeName('tls_certificate') !== 'function') return rules;
  const chosen = new Map<string, SecureContext | null>();
  return (name) => {
    if (name === null) return rules(null);
    const known = chosen.get(name);
    if (known !== undefined) return known;
    let ctx: SecureContext | null;
    try {
      const [picked] = script.callGlobal('tls_certificate', [name]);
      if (picked === null || picked === undefined) ctx = rules(name);
      else if (typeof picked === 'string') {
        ctx = store.byName(picked);
        if (ctx === null) throw new LpxError('LPX_ROUTE_RETURN', `${script.functionWhere('tls_certificate') ?? 'tls_certificate'}: tls_certificate(${JSON.stringify(name)}) returned ${JSON.stringify(picked)}, which no loaded certificate serves (names: ${store.info().flatMap((c) => c.names).join(', ')})`);
      } else throw new LpxError('LPX_ROUTE_RETURN', `${script.functionWhere('tls_certificate') ?? 'tls_certificate'}: tls_certificate must return a certificate's name or nil; it returned a ${Array.isArray(picked) ? 'list' : typeof picked}`);
    } catch (e) {
      const err = e as LpxError;
      log('error', `TLS handshake for ${JSON.stringify(name)} failed: ${err.message}${err.traceback ? `\n${err.traceback}` : ''}`, err.where ?? script.functionWhere('tls_certificate') ?? '');
      ctx = null;
    }
    if (chosen.size >= CHOICES_MAX) chosen.clear();
    chosen.set(name, ctx);
    return ctx;
  };
}
