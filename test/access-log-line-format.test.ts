/**
 * The access line AccessLog builds by hand must be byte-for-byte the line pino writes for
 * `log[level]({...fields}, 'request')`: keys, order, escaping, time, bindings, newline. And
 * when it batches lines for the logger's asynchronous sonic-boom, every line must still
 * reach the file, in order with the logger's other lines, on flush and on the exit flush.
 *
 * This is the guard of the one thing AccessLog copies from pino: how it writes values.
 * scripts/check-pino-latest.sh runs it against the newest pino 10.x as well.
 */
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import pino, { type Logger } from 'pino';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, lineSinkOf } from '../src/core/logger.js';
import { AccessLog, type AccessFields } from '../src/proxy/access-log.js';

type Level = 'info' | 'warn' | 'error';

const base: AccessFields = {
  method: 'GET', host: 'www.example.com', path: '/big', status: 200, route: 'forward', backend: 'alpha',
  ms: 1.23456, upstream_ms: 0.98765, bytes: 1234, retries: 0, error: null, client: '127.0.0.1', http: '1.1',
};
const traceback = 'config.lua:3: bad "thing" at \\x\n' + 'stack traceback:\n\t[C]: in function \'error\'\n\tconfig.lua:3: in function \u00e9\u00ff\n'.repeat(40);
const CASES: Array<[string, AccessFields]> = [
  ['plain', base],
  ['every optional field', { ...base, status: 502, route: 'error', error: 'LPX_UPSTREAM_RESET', detail: 'socket hang up', traceback: 'config.lua:3: boom\nstack traceback:\n\t[C]: in ?', retries: 2 }],
  ['null backend and upstream_ms', { ...base, status: 404, route: 'none', backend: null, upstream_ms: null, bytes: 0, error: 'LPX_ROUTE_NONE' }],
  ['negative upstream_ms means none', { ...base, route: 'respond', backend: null, upstream_ms: -1 }],
  ['null detail and traceback are left out', { ...base, detail: null, traceback: null }],
  ['quotes and backslashes', { ...base, host: 'a"b\\c', path: '/say/"hi"\\there', backend: 'b"\\' }],
  ['control characters', { ...base, path: '/p\n\r\t\u0000\u0001\u001f', host: 'h\u0008', detail: 'line1\nline2' }],
  ['DEL and latin1 bytes', { ...base, host: 'caf\u00e9.example', path: '/\u007f\u00e9\u00ff\u0080"x', method: 'G\u00e9T', client: '::ffff:127.0.0.1' }],
  ['a lone surrogate (pino escapes it only on Node 25+)', { ...base, detail: 'bad \ud800 pair' }],
  ['a long string with a lone surrogate and no control characters', { ...base, detail: '"' + 'x'.repeat(120) + '\udc00' }],
  ['100 characters with a quote', { ...base, path: '/' + '"'.repeat(1) + 'a'.repeat(98) }],
  ['101 characters with a quote', { ...base, path: '/' + '"'.repeat(1) + 'a'.repeat(99) }],
  ['a long traceback', { ...base, status: 500, route: 'error', backend: null, upstream_ms: null, error: 'LPX_SCRIPT_ERROR', detail: 'attempt to index a nil value', traceback }],
  ['odd numbers', { ...base, ms: 12345.6789, upstream_ms: 0.001, bytes: 1e21, status: 499, retries: 3 }],
  ['non-finite numbers', { ...base, ms: NaN, upstream_ms: Infinity }],
  ['an HTTP/2 request', { ...base, http: '2' }],
];

/** the call the proxy made before AccessLog existed (src/proxy/server.ts finish()) */
function viaPino(log: Logger, level: Level, f: AccessFields): void {
  log[level]({
    method: f.method, host: f.host, path: f.path, status: f.status, route: f.route, backend: f.backend,
    ms: Math.round(f.ms * 100) / 100,
    upstream_ms: f.upstream_ms === null || f.upstream_ms < 0 ? null : Math.round(f.upstream_ms * 100) / 100,
    bytes: f.bytes, retries: f.retries, error: f.error,
    detail: f.detail ?? undefined, traceback: f.traceback ?? undefined, client: f.client, http: f.http,
  }, 'request');
}

function collector(): { lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => { lines.push(s); } };
}

/** the same logger twice (as src/core/logger.ts builds it), optionally as a child with bindings */
function pair(level: string, bindings: Record<string, unknown> | null, extra: pino.LoggerOptions = {}) {
  const ours = collector();
  const theirs = collector();
  const make = (dest: { write(s: string): void }) => {
    const root = Object.keys(extra).length
      ? pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, ...extra }, dest)
      : createLogger({ level, destination: dest });
    return bindings ? root.child(bindings) : root;
  };
  return { ours, theirs, log: make(ours), ref: make(theirs) };
}

describe('the pino under test', () => {
  // scripts/check-pino-latest.sh swaps in another pino; this shows the swap happened
  it.runIf(process.env.LPX_PINO_VERSION)(`is pino ${process.env.LPX_PINO_VERSION}`, () => {
    expect(pino.version).toBe(process.env.LPX_PINO_VERSION);
  });
  it('is pino 10.x', () => {
    expect(pino.version).toMatch(/^10\./);
  });
});

describe('an access line is byte-identical to the line pino writes', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-23T15:42:55.064Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const bindings of [null, { worker: 1, pid: 123 }, { name: 'w"\\\u00e9', n: null }]) {
    for (const [name, f] of CASES) {
      it(`${name}, ${bindings ? `child ${JSON.stringify(bindings)}` : 'root logger'}`, () => {
        const { ours, theirs, log, ref } = pair('info', bindings);
        const access = new AccessLog(log);
        const info = vi.spyOn(log, 'info');
        const warn = vi.spyOn(log, 'warn');
        const error = vi.spyOn(log, 'error');
        for (const level of ['info', 'warn', 'error'] as const) {
          expect(access.fastAt(level)).toBe(true);
          access.write(level, f);
          viaPino(ref, level, f);
        }
        expect(ours.lines).toHaveLength(3);
        expect(ours.lines).toEqual(theirs.lines);
        // the fast path wrote them, not pino (else this test would prove nothing)
        expect(info).not.toHaveBeenCalled();
        expect(warn).not.toHaveBeenCalled();
        expect(error).not.toHaveBeenCalled();
        for (const line of ours.lines) {
          expect(line.endsWith('}\n')).toBe(true);
          expect(JSON.parse(line).time).toBe('2026-11-23T15:42:55.064Z');
        }
      });
    }
  }

  it('follows the clock from one millisecond to the next', () => {
    const { ours, theirs, log, ref } = pair('info', { worker: 2, pid: 9 });
    const access = new AccessLog(log);
    for (const t of [0, 0, 1, 999, 1000, 60_000, 60_000]) {
      vi.setSystemTime(new Date(Date.UTC(2026, 0, 1) + t));
      access.write('info', base);
      viaPino(ref, 'info', base);
    }
    expect(ours.lines).toEqual(theirs.lines);
    expect(new Set(ours.lines.map((l) => JSON.parse(l).time)).size).toBe(5);
  });

  it('writes nothing at a level the logger filters out, and follows level changes', () => {
    const { ours, theirs, log, ref } = pair('error', { worker: 1 });
    const access = new AccessLog(log);
    const all = () => {
      for (const level of ['info', 'warn', 'error'] as const) {
        access.write(level, base);
        viaPino(ref, level, base);
      }
    };
    all();
    expect(ours.lines).toHaveLength(1);
    log.level = 'info';
    ref.level = 'info';
    all();
    log.level = 'silent';
    ref.level = 'silent';
    all();
    expect(ours.lines).toHaveLength(4);
    expect(ours.lines).toEqual(theirs.lines);
  });

  it('follows bindings changed after it was made, from the next second on', () => {
    const { ours, theirs, log, ref } = pair('info', { worker: 1 });
    const access = new AccessLog(log);
    log.setBindings({ worker: 3 });
    ref.setBindings({ worker: 3 });
    vi.setSystemTime(new Date('2026-11-23T15:42:56.000Z'));
    access.write('warn', base);
    viaPino(ref, 'warn', base);
    expect(ours.lines).toEqual(theirs.lines);
    expect(ours.lines[0]).toContain('"worker":3');
  });

  const unusual: Array<[string, pino.LoggerOptions]> = [
    ['a mixin', { mixin: () => ({ extra: 1 }) }],
    ['a log formatter', { formatters: { log: (o: Record<string, unknown>) => ({ ...o, seen: true }) } }],
    ['redaction', { redact: ['host'] }],
    ['a serializer for one of the fields', { serializers: { path: (p: string) => p.toUpperCase() } }],
    ['another message key', { messageKey: 'message' }],
    ['a stream write hook', { hooks: { streamWrite: (s: string) => s.replace('request', 'REQ') } }],
    ['a message prefix', { msgPrefix: '[x] ' }],
    ['epoch time', { timestamp: pino.stdTimeFunctions.epochTime }],
    ['a level label formatter', { formatters: { level: (label: string) => ({ level: label }) } }],
  ];
  for (const [name, extra] of unusual) {
    it(`stays identical with ${name} (a logger not made by createLogger: pino writes)`, () => {
      const { ours, theirs, log, ref } = pair('info', { worker: 1 }, extra);
      const access = new AccessLog(log);
      for (const [, f] of CASES) {
        access.write('warn', f);
        viaPino(ref, 'warn', f);
      }
      expect(ours.lines).toEqual(theirs.lines);
    });
  }

  // options a child of one of our loggers may be given: each either keeps the fast path
  // (the template holds it) or sends the line through pino; the bytes never differ
  const childOptions: Array<[string, pino.ChildLoggerOptions, boolean]> = [
    ['a message prefix', { msgPrefix: '[x] ' }, true],
    ['a level label formatter', { formatters: { level: (label: string) => ({ level: label }) } }, true],
    ['a bindings formatter', { formatters: { bindings: (b: pino.Bindings) => ({ ...b, shaped: 'yes' }) } }, true],
    ['a serializer for one of the fields', { serializers: { path: (p: string) => p.toUpperCase() } }, false],
    ['redaction of one of the fields', { redact: ['host'] }, false],
  ];
  for (const [name, options, fast] of childOptions) {
    it(`stays identical for a child with ${name}`, () => {
      const ours = collector();
      const theirs = collector();
      const log = createLogger({ level: 'info', destination: ours }).child({ worker: 1, pid: 7 }, options);
      const ref = createLogger({ level: 'info', destination: theirs }).child({ worker: 1, pid: 7 }, options);
      const access = new AccessLog(log);
      for (const level of ['info', 'warn', 'error'] as const) expect(access.fastAt(level)).toBe(fast);
      for (const [, f] of CASES) {
        access.write('error', f);
        viaPino(ref, 'error', f);
      }
      expect(ours.lines).toHaveLength(CASES.length);
      expect(ours.lines).toEqual(theirs.lines);
    });
  }
});

describe('batched lines on the logger\'s asynchronous sonic-boom', () => {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-access-'));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-23T15:42:55.064Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** a logger as createLogger makes it for stdout (a cluster worker's child), writing to `file` */
  function fileLogger(file: string, opts: { maxWrite?: number; minLength?: number } = {}) {
    const fd = fs.openSync(file, 'w');
    // the bytes of each fs.write sonic-boom makes on this file
    const chunks: number[] = [];
    vi.restoreAllMocks();
    const write = fs.write;
    vi.spyOn(fs, 'write').mockImplementation(function (this: unknown, ...a: unknown[]) {
      if (a[0] === fd) chunks.push(Buffer.isBuffer(a[1]) ? (a[1] as Buffer).length : Buffer.byteLength(a[1] as string));
      return (write as (...x: unknown[]) => unknown).apply(this, a);
    } as typeof fs.write);
    const log = createLogger({ level: 'info', fd, minLength: opts.minLength ?? 4096, maxWrite: opts.maxWrite ?? 8192 }).child({ worker: 1, pid: 42 });
    const sink = lineSinkOf(log)!;
    expect(sink).not.toBeNull();
    const close = () => { sink.end(); };
    return { sink, log, chunks, close };
  }

  function expected(write: (ref: Logger) => void): string {
    const c = collector();
    write(createLogger({ level: 'info', destination: c }).child({ worker: 1, pid: 42 }));
    return c.lines.join('');
  }

  const lineFor = (i: number): AccessFields => ({ ...base, path: `/item/${i}/` + '\u00ff'.repeat(i % 7 === 0 ? 900 : 20), status: i % 5 === 0 ? 502 : 200 });
  const script = (access: { write(l: Level, f: AccessFields): void }, other: Logger) => {
    for (let i = 0; i < 600; i++) {
      access.write(i % 5 === 0 ? 'error' : 'info', lineFor(i));
      if (i % 50 === 7) other.info({ i }, 'something else');
    }
  };

  it('writes every line, in order, in whole-line chunks of at most maxWrite bytes', async () => {
    for (const maxWrite of [8192, 4096]) {
      const file = path.join(dir, `out-${maxWrite}.log`);
      const { sink, log, chunks, close } = fileLogger(file, { maxWrite, minLength: maxWrite / 2 });
      const access = new AccessLog(log);
      expect(access.fastAt('info')).toBe(true);
      script(access, log);
      // flush(cb) calls back on sonic-boom's next 'drain', which may leave up to minLength bytes queued
      await new Promise<void>((resolve, reject) => log.flush((e) => (e ? reject(e) : resolve())));
      sink.flushSync();
      const want = expected((ref) => script({ write: (l, f) => viaPino(ref, l, f) }, ref));
      const got = fs.readFileSync(file, 'utf8');
      expect(got.length).toBe(want.length);
      expect(got === want).toBe(true);
      expect(chunks.length).toBeLessThan(600); // batched, not one write per line
      expect(Math.max(...chunks)).toBeLessThanOrEqual(maxWrite);
      close();
    }
  });

  it('hands the batch over on the exit flush (flushSync) without waiting for the event loop', () => {
    const file = path.join(dir, 'exit.log');
    const { sink, log, close } = fileLogger(file);
    const access = new AccessLog(log);
    for (let i = 0; i < 5; i++) access.write('info', lineFor(i));
    sink.flushSync(); // what the logger's exit handler calls
    const want = expected((ref) => { for (let i = 0; i < 5; i++) viaPino(ref, 'info', lineFor(i)); });
    expect(fs.readFileSync(file, 'utf8')).toBe(want);
    close();
  });

  it('lets a lone line reach the file on the destination\'s periodic flush, as pino\'s own lines do', async () => {
    const file = path.join(dir, 'quiet.log');
    const { log, close } = fileLogger(file);
    new AccessLog(log).write('info', base);
    vi.useRealTimers();
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && fs.readFileSync(file, 'utf8') === '') await new Promise((r) => setTimeout(r, 20));
    expect(fs.readFileSync(file, 'utf8')).toContain('"msg":"request"');
    close();
  });
});
