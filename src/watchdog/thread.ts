/**
 * The watchdog thread (a worker_threads Worker started by watchdog.ts). It polls the
 * main thread's heartbeat counter; when the counter has not moved for kill_after, it
 * asks the frozen main thread where it is (through the inspector, which V8 serves
 * between two JS instructions even in an endless loop), writes one fatal JSON line
 * itself, and ends the process: process.exit(WATCHDOG_EXIT_CODE) run on the main thread
 * the same way, so supervisors see a distinctive exit code, and SIGKILL when the main
 * thread does not take even that (stuck inside a native call).
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import { workerData } from 'node:worker_threads';
import { readProbe, SLOT, STALL_KEY } from './probe.js';
import { WATCHDOG_EXIT_CODE, type ThreadData } from './watchdog.js';

const data = workerData as ThreadData;
const slots = new Int32Array(data.buffer, 0, 16);
/** how long the main thread gets to answer the inspector, and then to exit */
const ASK_MS = 1000;
const EXIT_MS = 1500;

let lastTick = Atomics.load(slots, SLOT.tick);
let since = performance.now();
let lastPoll = since;

const timer = setInterval(() => {
  const now = performance.now();
  // this thread's own timer was late too: the whole process was stopped (SIGSTOP, a
  // suspended VM), not just its event loop; count afresh
  if (now - lastPoll > data.pollMs + 1000) since = now;
  lastPoll = now;
  const tick = Atomics.load(slots, SLOT.tick);
  if (tick !== lastTick) {
    lastTick = tick;
    since = now;
    return;
  }
  const killAfter = Atomics.load(slots, SLOT.killAfterMs);
  if (killAfter > 0 && now - since >= killAfter) {
    clearInterval(timer);
    void fire(now - since, killAfter);
  }
}, data.pollMs);

/** the main thread's own view: its JS stack and, when the Lua layer can tell, the script line */
const ASK = `(() => {
  let where = null;
  try { const f = globalThis[Symbol.for(${JSON.stringify(STALL_KEY)})]; if (typeof f === 'function') where = f(); } catch {}
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 14;
  const stack = new Error().stack;
  Error.stackTraceLimit = limit;
  return { where: typeof where === 'string' ? where.slice(0, 512) : null, stack: String(stack) };
})()`;

async function fire(stalledMs: number, killAfterMs: number): Promise<void> {
  // whatever happens below, the process ends (a ref'd timer also keeps this thread alive)
  const last = setTimeout(() => process.kill(process.pid, 'SIGKILL'), ASK_MS + EXIT_MS + 500);
  const probe = readProbe(data.buffer);
  let session: inspector.Session | null = null;
  let answer: { where: string | null; stack: string } | null = null;
  try {
    session = new inspector.Session();
    session.connectToMainThread();
    answer = await post<{ result: { value: { where: string | null; stack: string } } }>(session, 'Runtime.evaluate', { expression: ASK, returnByValue: true }, ASK_MS)
      .then((r) => r?.result?.value ?? null);
  } catch {
    answer = null;
  }
  const stack = answer ? answer.stack.split('\n').slice(1).map((l) => l.trim().replace(/^at /, '')).filter((l) => !l.startsWith('<anonymous>')).slice(0, 12) : null;
  const script = answer?.where ?? (probe.script ? (probe.line > 0 ? `${probe.script}:${probe.line}` : probe.script) : null);
  const s = (stalledMs / 1000).toFixed(1);
  const line = {
    level: 60,
    time: new Date().toISOString(),
    pid: process.pid,
    ...data.bindings,
    msg: `watchdog: the event loop has not turned for ${s} s (watchdog.kill_after = ${killAfterMs / 1000}); ending the process (${answer ? `exit code ${WATCHDOG_EXIT_CODE}` : 'SIGKILL: its main thread runs no JS'}); last request: host ${probe.host ?? '(none)'}, path ${probe.path ?? '(none)'}, script ${script ?? '(unknown)'}`,
    stalled_ms: Math.round(stalledMs),
    kill_after: killAfterMs / 1000,
    host: probe.host,
    path: probe.path,
    script,
    requests: probe.requests,
    // the main thread's JS stack when it answered; null when it did not (stuck in native code)
    stack,
    exit_code: answer ? WATCHDOG_EXIT_CODE : null,
  };
  writeLine(JSON.stringify(line) + '\n');
  if (!answer || !session) {
    // the main thread does not run JS at all: it cannot exit on its own
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  session.post('Runtime.evaluate', { expression: `process.exit(${WATCHDOG_EXIT_CODE})` });
  clearTimeout(last);
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), EXIT_MS);
}

function post<T>(session: inspector.Session, method: string, params: object, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    session.post(method, params, (err: Error | null, r?: object) => {
      clearTimeout(t);
      resolve(err ? null : (r as T));
    });
  });
}

/** stdout, where the logger writes; a full pipe (EAGAIN) gets a few short retries, never a hang */
function writeLine(text: string): void {
  let buf = Buffer.from(text);
  const until = Date.now() + 500;
  while (buf.length > 0) {
    try {
      buf = buf.subarray(fs.writeSync(1, buf));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > until) return;
    }
  }
}
