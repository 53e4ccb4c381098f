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
  // asynchronous writes keep logging off the request path's critical section; flushed on exit
  return pino(base, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
}

/** the logger to use where nothing should be printed (library use, tests) */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
