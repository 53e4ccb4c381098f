/**
 * The per-request access line, written without going through pino's generic path.
 *
 * `log.info({...14 fields}, 'request')` cost about 6 µs a line in a tight loop and about
 * 12 µs inside the proxy: pino walks the object with for-in, formats a fresh ISO date per
 * line, and sonic-boom's write() measures its whole pending chunk for every line. This
 * module writes the exact bytes pino would write, from a fixed field list, with the ISO
 * time cached per millisecond, and hands them to the logger's LineSink
 * (src/core/logger.ts), which batches them in whole-line chunks for sonic-boom.
 *
 * It uses pino's public API only. What surrounds the fields (level, time, the child's
 * bindings, message, closing brace) is a template cut from a line pino itself renders
 * for sample fields, captured by the sink instead of written; the template is cut again
 * each second, so bindings changed with setBindings show up within a second. The fields
 * are escaped as pino escapes them (test/access-log-line-format.test.ts compares the bytes
 * with pino's, and scripts/check-pino-latest.sh does so against the newest pino 10.x).
 *
 * A logger that is not one of ours (no sink: pretty output, a plain pino), or whose
 * sample line is not exactly template + our rendering of the fields (a serializer,
 * redaction, another time format, a formatter that changes them), gets
 * `log[level](obj, 'request')`, so the output is always pino's.
 */
import type { LogKind } from '../core/decision.js';
import type { Logger } from 'pino';
import diagnostics from 'node:diagnostics_channel';
import { lineSinkOf, type LineSink } from '../core/logger.js';

export interface AccessFields {
  method: string;
  host: string;
  path: string;
  status: number;
  route: LogKind | null;
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
  /** the request's HTTP version: "1.0", "1.1" or "2" */
  http: string;
}

type Level = 'info' | 'warn' | 'error';

// pino traces serialization on this channel (a documented diagnostics channel); a subscriber must see pino's own path
const asJsonChannel = diagnostics.tracingChannel('pino_asJson');
// pino escapes with JSON.stringify from Node 25 on, and with its own scan before (they differ only on lone surrogates)
const STRINGIFY_ALWAYS = Number(process.versions.node.split('.')[0]) >= 25;

/** UTF-8 bytes beyond one per UTF-16 unit in the line being built (an upper bound) */
let wide = 0;

/** a JSON string literal exactly as pino writes it (pino's lib/tools.js asString) */
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

/** the fields part of a line, from `,"method":` to the HTTP version's value */
function fieldsJson(f: AccessFields): string {
  const up = f.upstream_ms;
  let s = ',"method":' + val(f.method) + ',"host":' + val(f.host) + ',"path":' + val(f.path)
    + ',"status":' + val(f.status) + ',"route":' + val(f.route) + ',"backend":' + val(f.backend)
    + ',"ms":' + val(round2(f.ms)) + ',"upstream_ms":' + val(up === null || up < 0 ? null : round2(up))
    + ',"bytes":' + val(f.bytes) + ',"retries":' + val(f.retries) + ',"error":' + val(f.error);
  if (f.detail != null) s += ',"detail":' + val(f.detail);
  if (f.traceback != null) s += ',"traceback":' + val(f.traceback);
  return s + ',"client":' + val(f.client) + ',"http":' + val(f.http);
}

/** the fields the template is cut from: every field present, none that pino could write differently */
const SAMPLE: AccessFields = {
  method: 'LPXSAMPLE', host: 'sample.invalid', path: '/lpx-sample', status: 299, route: 'forward', backend: 'lpx-sample',
  ms: 1.25, upstream_ms: 0.5, bytes: 12345, retries: 7, error: 'LPX_SAMPLE', detail: 'lpx sample detail', traceback: 'lpx sample traceback', client: '192.0.2.1', http: '1.1',
};

/** what pino writes around the fields at one level: `before` + "ISO time" + `between` + fields + `after` */
interface Template {
  before: string;
  between: string;
  after: string;
  /** UTF-8 bytes beyond one per UTF-16 unit in the three parts */
  extra: number;
}

function utf8Extra(s: string): number {
  return Buffer.byteLength(s) - s.length;
}

const LEVELS: readonly Level[] = ['info', 'warn', 'error'];

export class AccessLog {
  private readonly sink: LineSink | null;
  /** per level: undefined until cut, null when pino does not write the sample as template + fields */
  private templates: Partial<Record<Level, Template | null>> = {};
  /** the second (of Date.now()) the templates were cut in */
  private cutSec = -1;
  private lastMs = -1;
  /** the ISO time of lastMs, as a JSON string */
  private lastTime = '';

  constructor(private readonly log: Logger) {
    this.sink = lineSinkOf(log);
    if (this.sink === null || asJsonChannel.hasSubscribers) return;
    this.cutSec = Math.floor(Date.now() / 1000);
    for (const level of LEVELS) if (log.isLevelEnabled(level)) this.templates[level] = this.cut(level);
  }

  /** true when lines at `level` are written by this module, not by pino (for tests) */
  fastAt(level: Level): boolean {
    if (this.sink === null || !this.log.isLevelEnabled(level)) return false;
    return (this.templates[level] ?? (this.templates[level] = this.cut(level))) !== null;
  }

  /** pino's line for the sample fields, captured by the sink, cut around the time and the fields */
  private cut(level: Level): Template | null {
    const t0 = Date.now();
    const line = this.sink!.capture(() => this.viaPino(level, SAMPLE));
    const t1 = Date.now();
    if (line === null) return null;
    bail = false;
    const fields = fieldsJson(SAMPLE);
    const at = line.indexOf(fields);
    if (bail || at < 0 || line.indexOf(fields, at + 1) >= 0) return null;
    const head = line.slice(0, at);
    let time = '"' + new Date(t0).toISOString() + '"';
    let k = head.indexOf(time);
    if (k < 0 && t1 !== t0) k = head.indexOf(time = '"' + new Date(t1).toISOString() + '"');
    if (k <= 0 || head.charCodeAt(k - 1) !== 58 /* : */ || head.indexOf(time, k + 1) >= 0) return null;
    const before = head.slice(0, k);
    const between = head.slice(k + time.length);
    const after = line.slice(at + fields.length);
    return { before, between, after, extra: utf8Extra(before) + utf8Extra(between) + utf8Extra(after) };
  }

  /** one access line at `level`, exactly as `log[level](fields, 'request')` would write it */
  write(level: Level, f: AccessFields): void {
    if (!this.log.isLevelEnabled(level)) return;
    const sink = this.sink;
    if (sink === null || asJsonChannel.hasSubscribers) return this.viaPino(level, f);
    const now = Date.now();
    if (now !== this.lastMs) {
      this.lastMs = now;
      this.lastTime = '"' + new Date(now).toISOString() + '"';
      const sec = Math.floor(now / 1000);
      if (sec !== this.cutSec) {
        // cut again once a second: bindings may have changed (setBindings)
        this.cutSec = sec;
        this.templates = {};
      }
    }
    let t = this.templates[level];
    if (t === undefined) t = this.templates[level] = this.cut(level);
    if (t === null) return this.viaPino(level, f);
    wide = t.extra;
    bail = false;
    const s = t.before + this.lastTime + t.between + fieldsJson(f) + t.after;
    // a field of an unexpected type: pino drops undefined keys and stringifies objects its own way
    if (bail) return this.viaPino(level, f);
    sink.add(s, s.length + wide);
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
      http: f.http,
    }, 'request');
  }
}
