/**
 * Runs the BUILT `bin/luaproxy.js run --workers N` (npm run build first; `npm test`
 * does) with a script in a temp folder, and collects its JSON log lines, so cluster
 * tests can see which worker pid answered and what the primary decided.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'luaproxy.js');

export interface ClusterProc {
  proc: ChildProcess;
  port: number;
  file: string;
  dir: string;
  logs: Array<Record<string, unknown>>;
  /** rewrite the script by rename, as editors do */
  write(source: string): void;
  /** resolves with the first log line (from now on or already seen) that matches, or rejects after ms */
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number, from?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export function builtBinaryExists(): boolean {
  return fs.existsSync(path.join(ROOT, 'dist', 'cli.js'));
}

export async function startCluster(source: string, workers: number, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ClusterProc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-cluster-'));
  const file = path.join(dir, 'config.lua');
  fs.writeFileSync(file, source);
  const proc = spawn(process.execPath, [BIN, 'run', file, '--workers', String(workers), '--json', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const logs: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => {
    partial += c.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) try { logs.push(JSON.parse(line)); } catch { logs.push({ unparsed: line }); }
    for (const w of waiters) w();
  });
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const waitFor: ClusterProc['waitFor'] = (pred, ms = 15_000, from = 0) => new Promise((resolve, reject) => {
    const check = () => {
      for (let i = from; i < logs.length; i++) if (pred(logs[i])) { done(); resolve(logs[i]); return true; }
      return false;
    };
    const timer = setTimeout(() => { done(); reject(new Error(`no matching log line within ${ms} ms; stderr: ${stderr.slice(-500)}; last lines: ${JSON.stringify(logs.slice(-5))}`)); }, ms);
    const done = () => { clearTimeout(timer); waiters.delete(w); };
    const w = () => { check(); };
    if (!check()) waiters.add(w);
  });
  const closed = new Promise<void>((r) => proc.once('exit', () => r()));
  const ready = await waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('luaproxy cluster:'));
  const port = Number(String(ready.listen).split(':').pop());
  return {
    proc, port, file, dir, logs, waitFor,
    write(src: string) {
      const tmp = path.join(dir, `.config.lua.${process.pid}.tmp`);
      fs.writeFileSync(tmp, src);
      fs.renameSync(tmp, file);
    },
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await closed;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** pids of the workers that logged an access line for these paths */
export function answeringPids(logs: Array<Record<string, unknown>>, pathPrefix: string): Set<number> {
  const out = new Set<number>();
  for (const l of logs) if (l.msg === 'request' && typeof l.path === 'string' && l.path.startsWith(pathPrefix)) out.add(Number(l.pid));
  return out;
}
