/**
 * The per-request access line, written without going through pino's generic path.
 *
 * `log.info({...14 fields}, 'request')` cost about 6 µs a line in a tight loop and about
 * 12 µs inside the proxy: pino walks the object with for-in, formats a fresh ISO date per
 * line, and sonic-boom's write() calls Buffer.byteLength on its whole pending chunk (a
 * rope up to maxWrite bytes that V8 must flatten) for every line. This module builds the
 * exact bytes pino would write (same keys, order, escaping, time and bindings) from a
 * fixed field list, caches the ISO time per millisecond, and, for an asynchronous
 * sonic-boom destination, hands sonic-boom whole-line batches of up to maxWrite bytes
 * instead of one line at a time. Any other write, flush (periodic or not) or exit flush on
 * that destination first drains the batch, so lines keep their order, show up at the
 * latest on the destination's periodic flush, and a crash (which flushes the logger)
 * loses nothing that pino alone would have kept.
 *
 * Anything unusual about the logger (hooks, a log formatter, mixin, redaction, custom
 * serializers for these keys, another message key, a metadata-hungry destination) makes
 * write() fall back to `log[level](obj, 'request')`, so the output is always pino's.
 */
import pino, { type Logger } from 'pino';
import diagnostics from 'node:diagnostics_channel';

export interface AccessFields {
  method: string;
  host: string;
  path: string;
  status: number;
  route: 'forward' | 'respond' | 'none' | 'error' | null;
  backend: string | null;
  /** raw milliseconds; written rounded to 2 decimals */
  ms: number;
  /** raw milliseconds, or null (or negative) when no backend answered; written rounded to 2 decimals */
  upstream_ms: number | null;
  bytes: number;
  retries: number;
  error: string | null;
  detail?: string | null;
  traceback?: string | null;
  client: string;
}

type Level = 'info' | 'warn' | 'error';
// pino's internals, read through its exported symbols (see node_modules/pino/lib/proto.js write, tools.js _asJson)
type PinoInternals = Record<symbol, unknown>;

const S = pino.symbols;
// exported by pino at run time but missing from its type declarations
const msgPrefixSym = (S as unknown as Record<string, symbol | undefined>).msgPrefixSym;
const KEYS = ['method', 'host', 'path', 'status', 'route', 'backend', 'ms', 'upstream_ms', 'bytes', 'retries', 'error', 'detail', 'traceback', 'client'] as const;
// pino traces serialization on this channel; a subscriber must see pino's own path
const asJsonChannel = diagnostics.tracingChannel('pino_asJson');
// pino escapes with JSON.stringify from Node 25 on, and with its own scan before (they differ only on lone surrogates)
const STRINGIFY_ALWAYS = Number(process.versions.node.split('.')[0]) >= 25;

/** UTF-8 bytes beyond one per UTF-16 unit in the line being built (an upper bound) */
let wide = 0;

/** a JSON string literal exactly as pino writes it (tools.js asString) */
function esc(s: string): string {
  const n = s.length;
  if (n > 100) {
    wide += 2 * n;
    return JSON.stringify(s);
  }
  let out = '';
  let last = 0;
  let found = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 32) {
      wide += 2 * n;
      return JSON.stringify(s);
    }
    if (c === 34 || c === 92) {
      out += s.slice(last, i) + '\\';
      last = i;
      found = true;
    } else if (c > 127) wide += 2;
  }
  if (STRINGIFY_ALWAYS) return JSON.stringify(s);
  return found ? '"' + out + s.slice(last) + '"' : '"' + s + '"';
}

let bail = false;
/** one value as pino writes it; sets bail for values pino would omit (undefined) or stringify (objects) */
function val(v: unknown): string {
  switch (typeof v) {
    case 'string': return esc(v);
    case 'number': return Number.isFinite(v) ? '' + v : 'null';
    case 'boolean': return '' + v;
    default:
      if (v === null) return 'null';
      bail = true;
      return '';
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

interface SonicBoomLike {
  write(s: string): boolean;
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
  end(): void;
  minLength: number;
  maxWrite: number;
  sync: boolean;
}

function isAsyncSonicBoom(s: unknown): s is SonicBoomLike {
  const b = s as Partial<SonicBoomLike> | null;
  return !!b && typeof b.write === 'function' && typeof b.flushSync === 'function' && typeof b.flush === 'function'
    && typeof b.end === 'function' && b.sync === false && typeof b.maxWrite === 'number' && typeof b.minLength === 'number' && b.minLength > 0;
}

/**
 * Collects whole lines for one asynchronous sonic-boom and hands them over in batches of
 * up to maxWrite bytes, so sonic-boom measures each batch once and writes it with one
 * fs.write (each costs tens of µs of CPU all told), and a shared pipe still gets
 * whole-line chunks it keeps atomic. Lines wait at most for sonic-boom's periodic flush:
 * that, any other line, flush, flushSync (the exit handler) and end drain the batch first.
 */
class LineBatcher {
  private pending = '';
  private bytes = 0;
  private readonly max: number;
  private readonly write: (s: string) => boolean;
  private readonly wrapper: (s: string) => boolean;

  constructor(private readonly stream: SonicBoomLike) {
    this.max = stream.maxWrite;
    const write = stream.write;
    this.write = write;
    const self = this;
    this.wrapper = stream.write = function (this: SonicBoomLike, s: string) {
      if (self.pending !== '') self.drain();
      return write.call(this, s);
    };
    for (const m of ['flush', 'flushSync', 'end'] as const) {
      const orig = stream[m] as (...a: unknown[]) => unknown;
      (stream as unknown as Record<string, unknown>)[m] = function (this: SonicBoomLike, ...a: unknown[]) {
        if (self.pending !== '') self.drain();
        return orig.apply(this, a);
      };
    }
  }

  /** `bytes`: an upper bound of the line's UTF-8 length */
  add(line: string, bytes: number): void {
    if (this.bytes + bytes > this.max && this.pending !== '') this.drain();
    this.pending += line;
    this.bytes += bytes;
    if (this.bytes >= this.max) this.drain();
  }

  drain(): void {
    const s = this.pending;
    if (s === '') return;
    this.pending = '';
    this.bytes = 0;
    // pino replaces write with a no-op after EPIPE; respect that
    if (this.stream.write === this.wrapper) this.write.call(this.stream, s);
    else this.stream.write(s);
  }
}

const batchers = new WeakMap<object, LineBatcher>();

function batcherFor(stream: SonicBoomLike): LineBatcher {
  let b = batchers.get(stream);
  if (!b) batchers.set(stream, (b = new LineBatcher(stream)));
  return b;
}

/** true when pino would write this logger's lines exactly as AccessLog.write builds them */
function plainLogger(p: PinoInternals): boolean {
  const hooks = p[S.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const formatters = p[S.formattersSym] as { log?: unknown } | undefined;
  const serializers = (p[S.serializersSym] ?? {}) as Record<string, unknown>;
  const stringifiers = (p[S.stringifiersSym] ?? {}) as Record<string | symbol, unknown>;
  const stream = p[S.streamSym] as Record<symbol, unknown> | undefined;
  const lsCache = p[S.lsCacheSym] as Record<number, unknown> | undefined;
  return !!stream && typeof (stream as { write?: unknown }).write === 'function' && stream[S.needsMetadataGsym] !== true
    && !hooks?.logMethod && !hooks?.streamWrite && !formatters?.log && !p[S.mixinSym] && !p[S.nestedKeySym]
    && p[S.messageKeySym] === 'msg' && (!msgPrefixSym || typeof p[msgPrefixSym] !== 'string')
    && typeof p[S.timeSym] === 'function' && typeof p[S.endSym] === 'string' && typeof p[S.chindingsSym] === 'string'
    && !!lsCache && typeof lsCache[30] === 'string' && typeof lsCache[40] === 'string' && typeof lsCache[50] === 'string'
    && !stringifiers[S.wildcardFirstSym] && !serializers.msg && !stringifiers.msg
    && KEYS.every((k) => !serializers[k] && !stringifiers[k]);
}

export class AccessLog {
  private readonly p: PinoInternals;
  private readonly fast: boolean;
  private readonly isoTime: boolean;
  private readonly batcher: LineBatcher | null;
  private readonly stream: { write(s: string): unknown };
  private readonly levelNum: Record<Level, number>;
  private readonly prefixExtra: Record<number, number> = {};
  private lastMs = -1;
  private lastTime = '';
  private lastChindings = '';
  private chindingsExtra = 0;

  constructor(private readonly log: Logger) {
    this.p = log as unknown as PinoInternals;
    const values = log.levels.values;
    this.levelNum = { info: values.info, warn: values.warn, error: values.error };
    this.fast = plainLogger(this.p) && this.levelNum.info === 30 && this.levelNum.warn === 40 && this.levelNum.error === 50;
    this.isoTime = this.p[S.timeSym] === pino.stdTimeFunctions.isoTime;
    this.stream = this.p[S.streamSym] as { write(s: string): unknown };
    this.batcher = this.fast && isAsyncSonicBoom(this.stream) ? batcherFor(this.stream) : null;
    const lsCache = this.p[S.lsCacheSym] as Record<number, string>;
    if (this.fast) for (const n of [30, 40, 50]) this.prefixExtra[n] = Buffer.byteLength(lsCache[n]) - lsCache[n].length;
  }

  /** one access line at `level`, exactly as `log[level](fields, 'request')` would write it */
  write(level: Level, f: AccessFields): void {
    if (!this.log.isLevelEnabled(level)) return;
    if (!this.fast || asJsonChannel.hasSubscribers) return this.viaPino(level, f);
    const p = this.p;
    const num = this.levelNum[level];
    wide = this.prefixExtra[num];
    let time: string;
    if (this.isoTime) {
      const now = Date.now();
      if (now !== this.lastMs) {
        this.lastMs = now;
        this.lastTime = ',"time":"' + new Date(now).toISOString() + '"';
      }
      time = this.lastTime;
    } else {
      time = (p[S.timeSym] as () => string)();
      wide += Buffer.byteLength(time) - time.length;
    }
    const chindings = p[S.chindingsSym] as string;
    if (chindings !== this.lastChindings) {
      this.lastChindings = chindings;
      this.chindingsExtra = Buffer.byteLength(chindings) - chindings.length;
    }
    wide += this.chindingsExtra;
    bail = false;
    const up = f.upstream_ms;
    let s = (p[S.lsCacheSym] as Record<number, string>)[num] + time + chindings
      + ',"method":' + val(f.method) + ',"host":' + val(f.host) + ',"path":' + val(f.path)
      + ',"status":' + val(f.status) + ',"route":' + val(f.route) + ',"backend":' + val(f.backend)
      + ',"ms":' + val(round2(f.ms)) + ',"upstream_ms":' + val(up === null || up < 0 ? null : round2(up))
      + ',"bytes":' + val(f.bytes) + ',"retries":' + val(f.retries) + ',"error":' + val(f.error);
    if (f.detail != null) s += ',"detail":' + val(f.detail);
    if (f.traceback != null) s += ',"traceback":' + val(f.traceback);
    s += ',"client":' + val(f.client) + ',"msg":"request"' + (p[S.endSym] as string);
    // a field of an unexpected type: pino drops undefined keys and stringifies objects its own way
    if (bail) return this.viaPino(level, f);
    if (this.batcher) this.batcher.add(s, s.length + wide);
    else this.stream.write(s);
  }

  private viaPino(level: Level, f: AccessFields): void {
    const up = f.upstream_ms;
    this.log[level]({
      method: f.method,
      host: f.host,
      path: f.path,
      status: f.status,
      route: f.route,
      backend: f.backend,
      ms: round2(f.ms),
      upstream_ms: up === null || up < 0 ? null : round2(up),
      bytes: f.bytes,
      retries: f.retries,
      error: f.error,
      detail: f.detail ?? undefined,
      traceback: f.traceback ?? undefined,
      client: f.client,
    }, 'request');
  }
}
