#!/usr/bin/env node
// The access line on its own: 200,000 lines written to a file through (a) pino
// `log.info({...}, 'request')` exactly as the proxy used to call it and (b)
// AccessLog.write, with the destination settings of src/core/logger.ts. Each run
// includes the time for the destination to flush everything to the file (and fsync).
// Both go through createLogger's own sonic-boom (its LineSink), as on stdout.
// Also shows the same writes to /dev/null (the logger's own CPU without the file system's)
// and the serialization alone (a no-op destination). Needs dist/ (npm run build).
//
//   node bench/access-log.mjs [--lines 200000] [--rounds 5] [--per-turn 64] [--child] [--dist dir]
//                             [--min-length 32768] [--max-write 65536]   (sonic-boom settings to try)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const N = Number(opt('lines', 200_000));
const ROUNDS = Number(opt('rounds', 5));
const PER_TURN = Number(opt('per-turn', 64)); // lines per event-loop turn, as requests finishing together
const CHILD = argv.includes('--child');
const MIN_LENGTH = Number(opt('min-length', 32768)); // src/core/logger.ts, one process
const MAX_WRITE = Number(opt('max-write', 65536));
const DIST = path.resolve(opt('dist', path.join(ROOT, 'dist')));
const { createLogger, lineSinkOf } = await import(path.join(DIST, 'core/logger.js'));
const { AccessLog } = await import(path.join(DIST, 'proxy/access-log.js'));
const { default: pino } = await import('pino');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-bench-access-'));
const HOSTS = ['www.example.com', 'api.example.com', 'static.example.org'];

function fields(i) {
  return {
    method: 'GET', host: HOSTS[i % 3], path: `/api/items/${i & 1023}`, status: 200, route: 'forward', backend: 'app' + (i & 3),
    ms: 1.234567 + (i & 7), upstream_ms: 0.987654 + (i & 7), bytes: 1024, retries: 0, error: null, detail: null, traceback: null,
    client: '127.0.0.1',
  };
}

const writers = {
  pino: (log) => (f) => log.info({
    method: f.method, host: f.host, path: f.path, status: f.status, route: f.route, backend: f.backend,
    ms: Math.round(f.ms * 100) / 100, upstream_ms: f.upstream_ms === null ? null : Math.round(f.upstream_ms * 100) / 100,
    bytes: f.bytes, retries: f.retries, error: f.error, detail: f.detail ?? undefined, traceback: f.traceback ?? undefined, client: f.client,
  }, 'request'),
  AccessLog: (log) => { const a = new AccessLog(log); return (f) => a.write('info', f); },
};

/** `dest`: an fd (createLogger's own sonic-boom, as for stdout) or a stream */
function logger(dest) {
  const log = typeof dest === 'number'
    ? createLogger({ level: 'info', fd: dest, minLength: MIN_LENGTH, maxWrite: MAX_WRITE })
    : createLogger({ level: 'info', destination: dest });
  return CHILD ? log.child({ worker: 1, pid: process.pid }) : log;
}

/** µs per line, written PER_TURN lines per event-loop turn, until the file has them all */
async function toFile(kind, round, devNull = false) {
  const file = devNull ? '/dev/null' : path.join(dir, `${kind}-${round}.log`);
  const fd = fs.openSync(file, 'w');
  const log = logger(fd);
  const sink = lineSinkOf(log);
  const write = writers[kind](log);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let i = 0;
  await new Promise((resolve) => {
    const turn = () => {
      for (let k = 0; k < PER_TURN && i < N; k++, i++) write(fields(i));
      if (i < N) setImmediate(turn);
      else resolve();
    };
    turn();
  });
  // flush(cb) calls back on sonic-boom's next 'drain' (after an fsync, which /dev/null
  // refuses: that error is expected), which may leave up to minLength bytes queued
  await new Promise((resolve, reject) => sink.flush((e) => (e && !devNull ? reject(e) : resolve())));
  sink.flushSync();
  const wall = Number(process.hrtime.bigint() - t0) / 1000 / N;
  const c = process.cpuUsage(c0);
  sink.end();
  if (devNull) return { wall, cpu: (c.user + c.system) / N, size: 0 };
  const size = fs.statSync(file).size;
  fs.rmSync(file);
  return { wall, cpu: (c.user + c.system) / N, size };
}

/** µs per line building the line only: a destination that drops it */
function serializeOnly(kind) {
  const write = writers[kind](logger({ write() {} }));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) write(fields(i));
  return Number(process.hrtime.bigint() - t0) / 1000 / N;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const kind of Object.keys(writers)) results[kind] = { wall: [], cpu: [], nullCpu: [], ser: [], size: 0 };
for (const kind of Object.keys(writers)) serializeOnly(kind); // warm up
for (let r = 0; r < ROUNDS; r++) {
  for (const kind of Object.keys(writers)) {
    const x = await toFile(kind, r);
    results[kind].wall.push(x.wall);
    results[kind].cpu.push(x.cpu);
    results[kind].size = x.size;
    results[kind].nullCpu.push((await toFile(kind, r, true)).cpu);
    results[kind].ser.push(serializeOnly(kind));
  }
}
fs.rmSync(dir, { recursive: true, force: true });

console.log(`node ${process.version}, ${N} lines x ${ROUNDS} rounds, ${PER_TURN} lines per event-loop turn, ${CHILD ? 'child logger {worker,pid}' : 'root logger'}, minLength ${MIN_LENGTH}, maxWrite ${MAX_WRITE}`);
console.log('median µs per line    file: wall   file: process CPU   /dev/null: process CPU   serialize only   file bytes');
for (const [kind, r] of Object.entries(results)) {
  console.log(`${kind.padEnd(20)} ${median(r.wall).toFixed(2).padStart(10)} ${median(r.cpu).toFixed(2).padStart(19)} ${median(r.nullCpu).toFixed(2).padStart(24)} ${median(r.ser).toFixed(2).padStart(16)} ${String(r.size).padStart(12)}`);
}
if (results.pino.size !== results.AccessLog.size) console.log('WARNING: the two files differ in size');
