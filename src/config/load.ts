/**
 * Loads a script into a validated, typed Config: runs it once in a fresh Lua state,
 * reads `listen`, `backends`, `route` and the settings tables, checks every value
 * against its default's type, and binds the backend list to the `proxy` module.
 * Every problem is an LpxError whose message starts with `file:line:`.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LuaScript, type RouteView } from '../lua/script.js';
import type { Decision } from '../core/decision.js';
import { LuaFunctionRef, type LuaPlain } from '../lua/values.js';
import { displayPath } from '../core/display-path.js';
import type { BudgetLimits } from '../lua/budget.js';
import type { LineCoverage } from '../lua/coverage.js';
import { LpxError } from '../core/errors.js';
import { BackendSet } from '../balancer/backend-set.js';
import type { Random } from '../balancer/balancer.js';
import { defaults, type Settings } from './defaults.js';
import { readListeners, parseHostPort, type ListenAddress, type ListenerSpec } from './listeners.js';
import { readTls, tlsChooser } from './tls.js';
import { readAcme, tlsAllower, acmeChooser, type AcmeConfig, type AcmeRuntime } from './acme.js';
import type { SecureContext } from 'node:tls';
import type { CertStore } from '../tls/certificates.js';
import { closest, didYouMean } from './did-you-mean.js';
import { SourceLines } from './locate.js';
import { trustEntry } from './trusted-peers.js';
import { readBackendOptions, BACKEND_OPTION_FIELDS, NO_OPTIONS, type BackendOptions } from './backend-options.js';
import { describe } from './describe.js';

/** one entry of `backends`; its connection options (ca, verify, servername, proxy_protocol) are documented in backend-options.ts */
export interface BackendSpec extends BackendOptions {
  name: string;
  url: string;
  /** scheme://host:port, what the connection pool dials */
  origin: string;
  weight: number;
}

export type { ListenAddress, ListenerSpec } from './listeners.js';
export { parseHostPort } from './listeners.js';

export interface Config {
  readonly file: string;
  /** every file the script loaded, for watching and hashing */
  readonly files: ReadonlyMap<string, Buffer>;
  /** sha256 of the files' contents, first 12 hex digits */
  readonly hash: string;
  /** the first listener's address (the one most configs have) */
  readonly listen: ListenAddress;
  /** every listener, in the script's order */
  readonly listeners: readonly ListenerSpec[];
  /** the certificates TLS listeners serve (null: no tls table, or a routing-only load) */
  readonly certs: CertStore | null;
  /**
   * the TLS context for a client's server name (null: none sent): the tls_certificate hook, or the certificates'
   * names. A promise when the answer is not known yet (a certificate being obtained): only that handshake waits.
   * With `null` for the name it is always synchronous (the listener's default context).
   */
  tlsContext(servername: string | null): SecureContext | null | Promise<SecureContext | null>;
  /** the script's `acme` table checked and resolved (null: no acme table, or a routing-only load) */
  readonly acme: AcmeConfig | null;
  /** tls_allow(host): may `name` get a certificate (acme.names always may; asked once per name per load) */
  tlsAllow(name: string): boolean;
  /** the answer to `/.well-known/acme-challenge/<token>` on plain HTTP (null: ACME is not on in this process) */
  readonly acmeChallenge: ((token: string) => string | null) | null;
  /** the process' certificate orderer this config was loaded with (null without acme, or in a load for routing only) */
  readonly acmeRuntime: AcmeRuntime | null;
  readonly backends: readonly BackendSpec[];
  readonly backendSet: BackendSet;
  readonly settings: Settings;
  readonly script: LuaScript;
  readonly warnings: readonly string[];
  /** what replaced the script's backends or listen (copies of this config load with the same) */
  readonly overrides?: LoadOverrides;
  /** the Lua call: route(host, path, req) with host and path already prepared (src/routing/decide.ts is the one caller) */
  route(host: Uint8Array, path: Uint8Array, req: RouteView | null): Decision;
}

/**
 * What replaces parts of a script without touching it: a fleet instance's backend list
 * from etcd (`<prefix>backends`) and `run --listen`. A loaded Config keeps them, so every
 * copy made of it (a dry run, its own tests) sees the same backends.
 */
export interface LoadOverrides {
  /** a JSON list of { name, url, weight } that replaces the script's `backends` */
  backends?: unknown;
  /** where that list came from, for messages (e.g. "/luaproxy/backends") */
  backendsFrom?: string;
  /** an address ("host:port" or a port) that replaces the script's `listen` */
  listen?: string;
}

export interface LoadOptions extends LoadOverrides {
  /** the config being replaced: backend states with the same name and URL carry over */
  previous?: Config | null;
  /** script text instead of reading `file` (tests) */
  source?: string | Buffer;
  /** the files of a loaded script (Config.files): load a copy of exactly those bytes */
  sources?: ReadonlyMap<string, Buffer>;
  /** a copy for routing only (tests, a dry run): the `tls` table is not read, no certificate loaded */
  routingOnly?: boolean;
  log?: (level: string, msg: string, where: string) => void;
  /** randomness for the random balancer (seeded in tests) */
  random?: Random;
  /** test mode only: record which script lines run (luaproxy test --coverage) */
  coverage?: LineCoverage;
  /** called (once) when the script's Lua state has grown past script.state_size across requests */
  onStateOversize?: (bytes: number, cfg: Config) => void;
  /** the process' certificate orderer (src/acme/): with an acme table, TLS handshakes and HTTP-01 challenges go through it */
  acme?: AcmeRuntime | null;
}

/** the project's lua/ folder, which `require` may also load from */
export const LUA_LIB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lua');

const TOP_LEVEL = ['listen', 'backends', 'route', 'tests', 'tls', 'tls_certificate', 'tls_allow', ...Object.keys(defaults)] as const;

export function scriptLimits(s: Settings['script']): { load: BudgetLimits; route: BudgetLimits } {
  const common = { heapBytes: s.heap, maxString: s.max_string, matchSteps: s.match_steps };
  return {
    load: { ...common, instructions: s.load_instructions, timeMs: s.load_time * 1000 },
    route: { ...common, instructions: s.instructions, timeMs: s.time * 1000 },
  };
}

export function loadConfig(file: string, opts: LoadOptions = {}): Config {
  const abs = path.resolve(file);
  const display = displayPath(abs);
  // The script's own `script = {...}` limits are not known before it runs; load under the defaults.
  const base = scriptLimits(defaults.script as Settings['script']);
  const onOversize = opts.onStateOversize;
  let loaded: Config | null = null;
  const stateSize = onOversize ? { maxBytes: defaults.script.state_size as number, onOversize: (bytes: number) => { if (loaded) onOversize(bytes, loaded); } } : undefined;
  const script = LuaScript.load({ file: abs, source: opts.source, sources: opts.sources, libDir: LUA_LIB_DIR, log: opts.log, loadLimits: base.load, routeLimits: base.route, coverage: opts.coverage, stateSize });
  const src = new SourceLines(display, script.files.get(abs)?.toString('utf8') ?? '');
  const warnings: string[] = [];

  for (const g of script.userGlobals()) {
    if ((TOP_LEVEL as readonly string[]).includes(g)) continue;
    const near = closest(g, TOP_LEVEL);
    if (near && script.globalTypeName(near) === 'nil' && script.globalTypeName(g) !== 'function') {
      throw new LpxError('LPX_CONFIG_INVALID', `${src.at(src.global(g))}unknown setting "${g}"; did you mean "${near}"?`);
    }
  }

  const settings = readSettings(script, src);
  const listeners = readListeners(opts.listen !== undefined ? opts.listen : script.global('listen'), src);
  const listen: ListenAddress = { host: listeners[0].host, port: listeners[0].port };
  const acmeOn = script.global('acme') !== null;
  const allowType = script.globalTypeName('tls_allow');
  if (allowType !== 'nil' && allowType !== 'function') throw new LpxError('LPX_CONFIG_INVALID', `${src.at(src.global('tls_allow'))}tls_allow must be a function, got a ${allowType}`);
  if (allowType === 'function' && !acmeOn) warnings.push(`${script.functionWhere('tls_allow') ?? display}: tls_allow is defined, but the script has no acme table: it is never called`);
  const acme = opts.routingOnly || !acmeOn ? null : readAcme(settings.acme, src, abs);
  if (acme?.ca) script.files.set(path.resolve(path.dirname(abs), settings.acme.ca!), acme.ca);
  const tls = opts.routingOnly ? null : readTls(script.global('tls'), listeners, src, abs, acme !== null);
  if (tls) {
    warnings.push(...tls.warnings);
    // watched and hashed with the script: a renewed certificate reloads the config
    for (const [f, bytes] of tls.files) script.files.set(f, bytes);
  }
  const backends = opts.backends !== undefined
    ? readBackends(opts.backends as LuaPlain, new SourceLines(opts.backendsFrom ?? 'backends', ''), path.dirname(abs), warnings)
    : readBackends(script.global('backends'), src, path.dirname(abs), warnings);
  const overrides: LoadOverrides = {};
  if (opts.backends !== undefined) { overrides.backends = opts.backends; if (opts.backendsFrom !== undefined) overrides.backendsFrom = opts.backendsFrom; }
  if (opts.listen !== undefined) overrides.listen = opts.listen;
  // a CA file is watched and hashed with the script, like a listener's certificate
  for (const b of backends) if (b.ca) script.files.set(b.ca.file, b.ca.pem);
  if (!script.hasRoute) {
    const t = script.globalTypeName('route');
    throw new LpxError('LPX_CONFIG_INVALID', t === 'nil'
      ? `${display}: the script defines no route function; expected: function route(host, path) ... end`
      : `${src.at(src.global('route'))}route must be a function, got a ${t}`);
  }
  if (backends.length === 0) warnings.push(`${display}: no backends; route can only answer directly`);

  const limits = scriptLimits(settings.script);
  Object.assign(script.routeLimits, limits.route);
  if (stateSize) stateSize.maxBytes = settings.script.state_size;

  const backendSet = new BackendSet(backends, opts.previous?.backendSet ?? null, opts.random);
  script.bindBackends(backends.map((b) => b.name), {
    hashKey: (key) => backendSet.hashKey(key),
    hashPick: (k) => backendSet.hashPick(k),
    pick: (strategy) => backendSet.pick(strategy),
    backends: () => backendSet.views(),
  });

  const h = crypto.createHash('sha256');
  for (const [f, bytes] of [...script.files].sort(([a], [b]) => a.localeCompare(b))) h.update(f).update('\0').update(bytes);
  // a backend list or listen address given from outside is part of what goes live
  if (Object.keys(overrides).length) h.update('\0overrides\0').update(JSON.stringify(overrides));

  const log = opts.log ?? (() => {});
  // a load for routing only (tests, check) still answers tls_allow as the proxy would
  const tlsAllow = tlsAllower(acmeOn ? settings.acme.names : null, script, log);
  const runtime = acme !== null ? opts.acme ?? null : null;
  const store = tls?.store ?? null;
  loaded = {
    file: abs,
    files: script.files,
    hash: h.digest('hex').slice(0, 12),
    listen,
    listeners,
    certs: store,
    tlsContext: runtime === null
      ? tlsChooser(store, script, log)
      : acmeChooser({ own: tlsChooser(store, script, log, { withDefault: false }), fallback: store?.select(null) ?? null, allow: tlsAllow, runtime, wait: acme!.wait }),
    acme,
    tlsAllow,
    acmeChallenge: runtime === null ? null : (token) => runtime.challenge(token),
    acmeRuntime: runtime,
    backends,
    backendSet,
    settings,
    script,
    warnings,
    overrides,
    route: (host, p, req) => script.route(host, p, req),
  };
  return loaded;
}

const URL_RE = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/;

const BACKEND_FIELDS = ['name', 'url', 'weight', ...BACKEND_OPTION_FIELDS];

function readBackends(v: LuaPlain, src: SourceLines, baseDir: string, warnings: string[]): BackendSpec[] {
  const line = src.global('backends');
  if (v === null) return [];
  if (!Array.isArray(v)) {
    throw new LpxError('LPX_CONFIG_INVALID', `${src.at(line)}backends: expected a list like { "http://127.0.0.1:9001", { name = "app1", url = "http://10.0.0.5:8000" } }, got ${describe(v)}`);
  }
  const out: BackendSpec[] = [];
  const seen = new Map<string, number>();
  v.forEach((entry, i) => {
    const label = `backends[${i + 1}]`;
    let url: LuaPlain;
    let name: LuaPlain = null;
    let weight: LuaPlain = 1;
    let table: Record<string, LuaPlain> | null = null;
    if (typeof entry === 'string') url = entry;
    else if (entry && typeof entry === 'object' && !Array.isArray(entry) && !(entry instanceof LuaFunctionRef)) {
      for (const k of Object.keys(entry)) {
        if (!BACKEND_FIELDS.includes(k)) {
          throw new LpxError('LPX_CONFIG_INVALID', `${src.at(src.after(line, k, true) ?? line)}${label}: unknown field "${k}"${didYouMean(k, BACKEND_FIELDS)}`);
        }
      }
      table = entry;
      url = entry.url ?? null;
      name = entry.name ?? null;
      weight = entry.weight ?? 1;
    } else {
      throw new LpxError('LPX_CONFIG_INVALID', `${src.at(line)}${label}: expected a URL string or { name = ..., url = ... }, got ${describe(entry)}`);
    }
    const where = (needle: string) => src.at(src.after(line, needle, false) ?? line);
    if (typeof url !== 'string') throw new LpxError('LPX_CONFIG_INVALID', `${src.at(line)}${label}.url: expected "http://host:port", got ${describe(url)}`);
    const m = URL_RE.exec(url);
    const port = m ? Number(m[3] ?? (m[1] === 'https' ? 443 : 80)) : NaN;
    if (!m || port < 1 || port > 65535) throw new LpxError('LPX_CONFIG_INVALID', `${where(url)}${label}.url: expected "http://host:port", got ${JSON.stringify(url)}`);
    const hostPort = `${m[2]}:${port}`;
    if (name === null) name = hostPort;
    if (typeof name !== 'string' || name === '') throw new LpxError('LPX_CONFIG_INVALID', `${where(url)}${label}.name: expected a non-empty string, got ${describe(name)}`);
    if (typeof weight !== 'number' || !(weight > 0) || !Number.isFinite(weight)) throw new LpxError('LPX_CONFIG_INVALID', `${where(url)}${label}.weight: expected a number above 0, got ${describe(weight)}`);
    const dup = seen.get(name);
    if (dup !== undefined) {
      throw new LpxError('LPX_CONFIG_INVALID', `${where(url)}${label}: duplicate backend name "${name}" (also backends[${dup + 1}]); names must be unique${typeof entry === 'string' ? ' (a URL entry is named after its host:port; give one of them a name)' : ''}`);
    }
    seen.set(name, i);
    const urlLine = src.after(line, url, false) ?? line;
    const options = table === null ? NO_OPTIONS : readBackendOptions(table, label, url, m[1] === 'https', (k) => src.at(src.after(urlLine, k, true) ?? urlLine), baseDir, warnings);
    out.push({ name, url, origin: `${m[1]}://${hostPort}`, weight, ...options });
  });
  return out;
}

function readSettings(script: LuaScript, src: SourceLines): Settings {
  const out = structuredClone(defaults) as unknown as Settings;
  for (const [table, fields] of Object.entries(defaults) as Array<[keyof Settings, Record<string, unknown>]>) {
    const v = script.global(table);
    if (v === null) continue;
    const line = src.global(table);
    if (typeof v !== 'object' || (Array.isArray(v) && v.length > 0) || v instanceof LuaFunctionRef) {
      throw new LpxError('LPX_CONFIG_INVALID', `${src.at(line)}${table}: expected a table like ${table} = { ${Object.keys(fields)[0]} = ... }, got ${describe(v)}`);
    }
    const target = out[table] as Record<string, unknown>;
    for (const [k, val] of Object.entries(v)) {
      const here = src.at(src.after(line, k, true) ?? line);
      if (!(k in fields)) throw new LpxError('LPX_CONFIG_INVALID', `${here}${table}.${k}: unknown setting${didYouMean(k, Object.keys(fields))}`);
      target[k] = checkValue(`${table}.${k}`, fields[k], val, here);
    }
  }
  return out;
}

function checkValue(name: string, def: unknown, v: LuaPlain, here: string): unknown {
  const bad = (expected: string) => new LpxError('LPX_CONFIG_INVALID', `${here}${name}: expected ${expected}, got ${describe(v)}`);
  if (typeof def === 'number') {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad('a number of 0 or more');
    if (name === 'watchdog.kill_after' && v > 0 && v < 1) throw bad('0 (off) or a number of seconds of 1 or more');
    if (name.startsWith('reload.') && v > 1) throw bad('a share from 0 to 1 (1 turns the guard off)');
    if (name.startsWith('http2.') && (!Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1)) throw bad('a whole number from 1 to 2147483647');
    return v;
  }
  if (typeof def === 'boolean') {
    if (typeof v !== 'boolean') throw bad('true or false');
    return v;
  }
  if (typeof def === 'string' || def === null) {
    if (v === null) return null;
    if (typeof v !== 'string') throw bad('a string');
    if (name === 'log.level' && !['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(v)) throw bad('one of trace, debug, info, warn, error, silent');
    if (name === 'health.path' && !v.startsWith('/')) throw bad('a path starting with "/"');
    if (name === 'admin.listen' && !parseHostPort(v)) throw bad('"host:port"');
    return v;
  }
  if (name === 'forwarded.trust') {
    if (!Array.isArray(v)) throw bad('a list of IP addresses or CIDRs like { "10.0.0.0/8", "::1" }');
    v.forEach((x, i) => {
      if (typeof x !== 'string' || trustEntry(x) === null) {
        throw new LpxError('LPX_CONFIG_INVALID', `${here}${name}[${i + 1}]: expected an IP address or CIDR like "10.0.0.0/8", got ${typeof x === 'string' ? JSON.stringify(x) : describe(x)}`);
      }
    });
    return v;
  }
  if (Array.isArray(def)) {
    if (typeof def[0] === 'number') {
      if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return v;
      if (typeof v === 'number') return [v, v];
      throw bad('a status or a range like { 200, 399 }');
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad('a list of strings');
    return (v as string[]).map((x) => x.toLowerCase());
  }
  return v;
}

