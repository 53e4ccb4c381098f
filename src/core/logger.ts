/**
 * The process logger: pino JSON lines on stdout, pretty when stdout is a terminal (or
 * asked for). One place decides the format so every layer logs alike.
 */
import pino, { type Logger } from 'pino';
import { createRequire } from 'node:module';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  /** where lines go; defaults to stdout */
  destination?: NodeJS.WritableStream | { write(s: string): unknown };
  /** several processes share stdout (cluster workers): write whole lines in chunks of at most 4 KiB, which a pipe keeps atomic */
  shared?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (opts.destination) return pino(base, opts.destination as pino.DestinationStream);
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  if (pretty) {
    const require = createRequire(import.meta.url);
    const pinoPretty = require('pino-pretty') as (o: object) => pino.DestinationStream;
    return pino(base, pinoPretty({ colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  // asynchronous writes keep logging off the request path's critical section; flushed on exit,
  // and every 250 ms, so a quiet proxy's lines (listening, reloads, errors) show up at once
  if (opts.shared) return pino(base, pino.destination({ dest: 1, sync: false, minLength: 2048, maxWrite: 4096, periodicFlush: 250 }));
  // big chunks: each fs.write costs tens of µs of CPU all told, and the access log (src/proxy/access-log.ts)
  // hands sonic-boom whole batches, so the Buffer.byteLength sonic-boom does over its pending
  // chunk happens once per batch, not per line (other lines pay it, up to maxWrite bytes each)
  return pino(base, pino.destination({ dest: 1, sync: false, minLength: 32768, maxWrite: 65536, periodicFlush: 250 }));
}

/** the logger to use where nothing should be printed (library use, tests) */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
