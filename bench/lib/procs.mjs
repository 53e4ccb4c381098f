// Process helpers for the benchmark: start a command pinned to a CPU, wait for its port,
// read CPU time (user+sys) and peak RSS of a whole process tree from /proc, stop it by PID.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

export function have(cmd) {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
}

/** start `cmd args` (pinned to `cpu` with taskset when given); output goes to `logFile` */
export function startProc(name, cmd, args, { cpu = null, logFile = '/dev/null', env = {}, cwd } = {}) {
  const out = fs.openSync(logFile, 'a');
  const argv = cpu === null ? [cmd, ...args] : ['taskset', '-c', String(cpu), cmd, ...args];
  const child = spawn('sh', ['-c', `ulimit -n $(ulimit -Hn) 2>/dev/null; exec "$@"`, 'sh', ...argv], {
    stdio: ['ignore', out, out], env: { ...process.env, ...env }, cwd,
  });
  fs.closeSync(out);
  child.on('error', (e) => console.error(`${name}: ${e.message}`));
  return { name, child, pid: child.pid };
}

export async function stopProc(p, signal = 'SIGTERM') {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise((r) => p.child.once('exit', r));
  try { process.kill(p.pid, signal); } catch { return; }
  const t = setTimeout(() => { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
  await gone;
  clearTimeout(t);
}

export function waitPort(port, ms = 15000) {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`nothing listens on ${port} after ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** pids of a process and all its descendants */
export function treePids(root) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* exited */ }
  }
  const out = [];
  const walk = (p) => { out.push(p); for (const c of kids.get(p) ?? []) walk(c); };
  walk(root);
  return out;
}

/** user+sys CPU seconds of a process tree (children that already exited and were reaped count through cutime/cstime) */
export function cpuSeconds(root) {
  let ticks = 0;
  for (const p of treePids(root)) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* exited */ }
  }
  return ticks / CLK_TCK;
}

/** summed VmRSS / VmHWM (peak) of a process tree, in MB */
export function memoryMB(root) {
  let rss = 0, hwm = 0;
  for (const p of treePids(root)) {
    try {
      const s = fs.readFileSync(`/proc/${p}/status`, 'latin1');
      rss += Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
      hwm += Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0);
    } catch { /* exited */ }
  }
  return { rss: rss / 1024, peak: hwm / 1024 };
}

export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

/** a TCP port on 127.0.0.1 that is free right now (bound to port 0, then released) */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}
