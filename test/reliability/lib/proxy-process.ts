/**
 * Runs the BUILT luaproxy (`node bin/luaproxy.js run config.lua --json`) as a child
 * process, the way an operator runs it, and reads its figures from /proc: resident
 * memory (and its peak), open file descriptors and sockets. Its JSON log is drained
 * continuously; warnings and errors are kept for assertions, access lines only counted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { until } from './mode.js';

export const BIN = path.resolve(import.meta.dirname, '../../../bin/luaproxy.js');

export interface ProcStats {
  rss: number;
  /** peak resident memory since start (VmHWM) */
  hwm: number;
  fds: number;
  sockets: number;
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface ProxyProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  dir: string;
  file: string;
  /** warn/error/fatal lines and reload lines (bounded) */
  logs: LogLine[];
  accessLines: number;
  /** the process exited (a crash, when the test did not stop it) */
  exited: { code: number | null; signal: string | null } | null;
  stats(): ProcStats;
  /** rewrite the script by rename (as editors save) and wait for the reload line */
  reload(source: string): Promise<LogLine>;
  stop(): Promise<{ code: number | null; signal: string | null }>;
}

export function procStats(pid: number): ProcStats {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  let fds = 0;
  let sockets = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try { if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++; } catch { /* closed meanwhile */ }
  }
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), fds, sockets };
}

const withListen = (src: string) => (/^\s*listen\s*=/m.test(src) ? src : `listen = "127.0.0.1:0"\n${src}`);

export async function spawnProxy(source: string, opts: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<ProxyProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-rel-'));
  const file = path.join(dir, 'config.lua');
  fs.writeFileSync(file, withListen(source));
  const child = spawn(process.execPath, [BIN, 'run', file, '--json', ...(opts.args ?? [])], {
    cwd: dir,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: Array<{ test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let stderr = '';
  const p: ProxyProcess = {
    child, pid: child.pid!, port: 0, url: '', dir, file, logs, accessLines: 0, exited: null,
    stats: () => procStats(child.pid!),
    async reload(src: string) {
      const seen = logs.length;
      const tmp = path.join(dir, '.config.lua.tmp');
      fs.writeFileSync(tmp, withListen(src));
      fs.renameSync(tmp, file);
      return waitFor((l) => /^reload/.test(l.msg), 10_000, seen);
    },
    async stop() {
      if (p.exited) return p.exited;
      const done = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const r = await done;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
      return r;
    },
  };
  child.once('exit', (code, signal) => { p.exited = { code, signal }; });
  child.stderr!.on('data', (c: Buffer) => { if (stderr.length < 65536) stderr += c; });
  const rl = readline.createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    if (line.includes('"msg":"request"')) { p.accessLines++; return; }
    let l: LogLine;
    try { l = JSON.parse(line); } catch { return; }
    if (logs.length < 5000) logs.push(l);
    for (const w of waiters.slice()) if (w.test(l)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l); }
  });
  function waitFor(test: (l: LogLine) => boolean, ms: number, from = 0): Promise<LogLine> {
    const hit = logs.slice(from).find(test);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`luaproxy did not log the awaited line within ${ms} ms; stderr: ${stderr}`)), ms);
      waiters.push({ test, resolve: (l) => { clearTimeout(t); resolve(l); } });
    });
  }
  const ready = await Promise.race([
    waitFor((l) => /^luaproxy listening on/.test(l.msg), 15_000),
    new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`luaproxy exited with ${code} before listening: ${stderr}`)))),
  ]);
  p.port = Number(String(ready.listen).split(':').pop());
  p.url = `http://127.0.0.1:${p.port}`;
  return p;
}

/** wait until the process's open fds/sockets come back to at most `base + slack` (idle sockets close on their timeouts) */
export async function settle(p: ProxyProcess, base: ProcStats, slack: number, ms: number): Promise<ProcStats> {
  await until(() => { const s = p.stats(); return s.fds <= base.fds + slack && s.sockets <= base.sockets + slack; }, ms);
  return p.stats();
}
