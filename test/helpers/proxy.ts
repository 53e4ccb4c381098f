/**
 * Starts a real luaproxy (the same `start()` the CLI uses) on 127.0.0.1:0 with a
 * script written to a temp folder, and captures its log lines for assertions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { start, type Running } from '../../src/app.js';
import { createLogger, type Logger } from '../../src/core/logger.js';

export interface TestProxy {
  running: Running;
  port: number;
  url: string;
  dir: string;
  file: string;
  logs: Array<Record<string, unknown>>;
  /** rewrite the script (by rename, as editors do) */
  write(source: string): void;
  close(): Promise<void>;
}

/** `backends` is inserted as Lua; `listen` is always 127.0.0.1:0 */
export async function startProxy(source: string, opts: { watch?: boolean; dir?: string } = {}): Promise<TestProxy> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-test-'));
  const file = path.join(dir, 'config.lua');
  const full = (src: string) => (/^\s*listen\s*=/m.test(src) ? src : `listen = "127.0.0.1:0"\n${src}`);
  fs.writeFileSync(file, full(source));
  const { logs, log } = captureLog();
  const running = await start({ file, log, watch: opts.watch ?? false });
  const port = running.address.port;
  return {
    running, port, url: `http://127.0.0.1:${port}`, dir, file, logs,
    write(src: string) {
      const tmp = path.join(dir, `.config.lua.${process.pid}.tmp`);
      fs.writeFileSync(tmp, full(src));
      fs.renameSync(tmp, file);
    },
    close: async () => { await running.stop(2000); },
  };
}

/** a debug-level logger whose JSON lines are parsed into `logs` */
export function captureLog(): { logs: Array<Record<string, unknown>>; log: Logger } {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) try { logs.push(JSON.parse(line)); } catch { /* not JSON */ }
      cb();
    },
  });
  return { logs, log: createLogger({ level: 'debug', destination: sink }) };
}

export function luaBackends(list: Array<{ name: string; url: string; weight?: number }>): string {
  return `backends = {\n${list.map((b) => `  { name = ${JSON.stringify(b.name)}, url = ${JSON.stringify(b.url)}${b.weight ? `, weight = ${b.weight}` : ''} },`).join('\n')}\n}\n`;
}
