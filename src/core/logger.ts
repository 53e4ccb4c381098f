/**
 * The process logger: pino JSON lines on stdout, pretty when stdout is a terminal (or
 * asked for). One place decides the format so every layer logs alike.
 *
 * JSON lines go to a LineSink: the destination pino writes to (through its public
 * destination contract: write, flush, flushSync, end), and the one the access log
 * (src/proxy/access-log.ts) hands its own lines to. In front of stdout the sink owns a
 * sonic-boom (a direct dependency, the library pino itself writes with) and batches the
 * access lines; pino's lines and every flush drain the batch first, so lines keep their
 * order. Every logger made here, and every child of one (pino's onChild option), is
 * known to its sink, which is how the access log finds it; nothing reads pino's
 * internal state.
 */
import pino, { type Logger } from 'pino';
import sonicBoom from 'sonic-boom';
import { createRequire } from 'node:module';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  /** where lines go, written one by one as they come; defaults to stdout (asynchronous, batched) */
  destination?: NodeJS.WritableStream | { write(s: string): unknown };
  /** the file descriptor written to when there is no `destination`; default 1 (stdout) */
  fd?: number;
  /** several processes share stdout (cluster workers): write whole lines in chunks of at most 4 KiB, which a pipe keeps atomic */
  shared?: boolean;
  /** sonic-boom's buffering for `fd` (see below for the defaults) */
  minLength?: number;
  maxWrite?: number;
}

interface Out {
  write(s: string): unknown;
  flush?(cb?: (err?: Error | null) => void): void;
  flushSync?(): void;
  end?(): void;
}

/** how often a quiet process's buffered lines (pino's and the access log's) are written out */
const PERIODIC_FLUSH_MS = 250;

const live = new Set<LineSink>();
let exitHooked = false;
function flushAllOnExit(): void {
  for (const s of live) try { s.flushSync(); } catch { /* a closed or broken stdout: nothing left to do */ }
}

/**
 * The destination of a logger made here. `maxWrite` > 0 turns on batching of access
 * lines (add()) into whole-line chunks of at most that many bytes, which sonic-boom then
 * measures once and writes with one fs.write each (a shared pipe keeps them atomic).
 */
export class LineSink {
  private pending = '';
  private pendingBytes = 0;
  private capturing = false;
  private captured: string | null = null;
  private dead = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly out: Out, readonly maxWrite: number) {}

  /** pino's lines, and anything else written to the destination */
  write(s: string): boolean {
    if (this.capturing) { this.captured = s; return true; }
    if (this.dead) return true;
    if (this.pending !== '') this.drain();
    return this.out.write(s) !== false;
  }

  /** one access line; `bytes` is an upper bound of its UTF-8 length */
  add(line: string, bytes: number): void {
    if (this.maxWrite <= 0) { this.write(line); return; }
    if (this.dead) return;
    if (this.pendingBytes + bytes > this.maxWrite && this.pending !== '') this.drain();
    this.pending += line;
    this.pendingBytes += bytes;
    if (this.pendingBytes >= this.maxWrite) this.drain();
  }

  drain(): void {
    const s = this.pending;
    if (s === '') return;
    this.pending = '';
    this.pendingBytes = 0;
    if (!this.dead) this.out.write(s);
  }

  /** what `log()` writes, without writing it (the access log renders its line template this way) */
  capture(log: () => void): string | null {
    this.capturing = true;
    this.captured = null;
    try {
      log();
    } finally {
      this.capturing = false;
    }
    return this.captured;
  }

  flush(cb?: (err?: Error | null) => void): void {
    this.drain();
    if (this.out.flush && !this.dead) this.out.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.drain();
    if (!this.dead) this.out.flushSync?.();
  }

  end(): void {
    this.drain();
    this.stop();
    this.out.end?.();
  }

  /** sonic-boom, on stdout or a file: batching, the periodic flush, the exit flush and EPIPE */
  static boom(fd: number, minLength: number, maxWrite: number): LineSink {
    const boom = new sonicBoom.SonicBoom({ fd, sync: false, minLength, maxWrite });
    const sink = new LineSink(boom, maxWrite);
    const onError = (err: NodeJS.ErrnoException) => {
      // a reader that went away: stop logging, as pino.destination does
      if (err.code === 'EPIPE') { sink.dead = true; sink.stop(); return; }
      boom.removeListener('error', onError);
      boom.emit('error', err);
    };
    boom.on('error', onError);
    boom.on('close', () => sink.stop());
    sink.timer = setInterval(() => {
      if (sink.dead) return;
      sink.drain();
      try { boom.flush(); } catch { /* destroyed */ }
    }, PERIODIC_FLUSH_MS);
    sink.timer.unref();
    live.add(sink);
    if (!exitHooked) { exitHooked = true; process.on('exit', flushAllOnExit); }
    return sink;
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    live.delete(this);
  }
}

const sinks = new WeakMap<object, LineSink>();

/** the sink a logger made here (or a child of one) writes to; null for pretty output or other loggers */
export function lineSinkOf(log: Logger): LineSink | null {
  return sinks.get(log) ?? null;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  let sink: LineSink;
  if (opts.destination) sink = new LineSink(opts.destination as Out, 0);
  else {
    const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
    if (pretty) {
      const require = createRequire(import.meta.url);
      const pinoPretty = require('pino-pretty') as (o: object) => pino.DestinationStream;
      return pino(base, pinoPretty({ colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
    }
    // Asynchronous writes keep logging off the request path's critical section; flushed on
    // exit, and every 250 ms, so a quiet proxy's lines show up at once. Shared: whole-line
    // chunks of at most 4 KiB, atomic in a pipe. Alone: big chunks, since each fs.write
    // costs tens of µs of CPU all told, and the access lines come in batches of up to
    // maxWrite bytes (sonic-boom measures its pending chunk on every write it is given).
    sink = opts.shared
      ? LineSink.boom(opts.fd ?? 1, opts.minLength ?? 2048, opts.maxWrite ?? 4096)
      : LineSink.boom(opts.fd ?? 1, opts.minLength ?? 32768, opts.maxWrite ?? 65536);
  }
  const log = pino({ ...base, onChild: (child) => { sinks.set(child, sink); } }, sink);
  sinks.set(log, sink);
  return log;
}

/** the logger to use where nothing should be printed (library use, tests) */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
