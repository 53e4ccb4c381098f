#!/usr/bin/env node
// Deeper profiling of one luaproxy process behind the nginx origin (bench/profile.mjs is the
// quick one). Pinned as bench/run.mjs pins: the proxy on CPU 0, wrk and the origin on CPU 1.
//
//   node bench/profile-deep.mjs --mode cpu    [--tls] [--wrk-args "GET 0 close"] [--seconds 8] [--no-prof]
//        CPU µs/request without a profiler, then a --cpu-prof run: time by area (node:tls,
//        node:stream, TLSWrap/native, ...), top functions by self time
//   node bench/profile-deep.mjs --mode strace [--tls] [--wrk-args ...]
//        syscalls per request (strace -c -f on the proxy during the measured window)
//   node bench/profile-deep.mjs --mode perf   [--tls] [--wrk-args ...]
//        perf record -g of the whole process (native, OpenSSL and kernel time too): by binary, top symbols
//   node bench/profile-deep.mjs --mode stats  [--tls] [--wrk-args ...]
//        a preload counts, in the proxy: 'data' events and their sizes, JS-level socket
//        writes (write/writev calls and bytes), Buffer.allocUnsafe(65536) calls (a backend read
//        buffer replaced), TLS handshakes and how many were resumed
//   node bench/profile-deep.mjs --mode heap   [--tls] [--conns 2000] [--batch 500]
//        heap snapshots (--heapsnapshot-signal) before and after N idle keep-alive clients
//        (one request each, opened --batch 500 at a time as bench/idle-conns.mjs does, in their own process): what each idle
//        connection adds, by constructor, plus RSS
//   node bench/profile-deep.mjs --mode rss    [--tls] [--conns 10000] [--batch 500]
//        a fresh process: RSS and process.memoryUsage() after a full GC, before and after N idle clients
//   (cpu, strace, perf and stats: --h2 drives the load with h2load over HTTP/2 instead of wrk,
//   --connections 10 and --streams 10 by default; it implies --tls)
//   (any mode: --root DIR runs DIR/bin/luaproxy.js, a copy of bin/ dist/ lua/ package.json and a
//   node_modules link, so that a rebuild of dist/ meanwhile cannot break the run;
//   --node-flags "--trace-gc" passes flags to the proxy's node; its output is in luaproxy.log)
//   node bench/profile-deep.mjs --mode resume [--n 200]   (HTTPS: session resumption rate of
//        sequential new connections that offer the last session they were given)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startProc, stopProc, waitPort, sleep, freePort, cpuSeconds, memoryMB } from './lib/procs.mjs';
import { runWrk } from './lib/wrk.mjs';
import { runH2load } from './lib/h2load.mjs';
import { nginxOrigin, luaproxyScript } from './lib/configs.mjs';

const argv = process.argv.slice(2);
const opt = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
// --root: a copy of bin/, dist/, lua/, package.json (and node_modules) to run, so that a rebuild of dist/ meanwhile does not break a run
const ROOT = path.resolve(opt('root', path.join(path.dirname(fileURLToPath(import.meta.url)), '..')));
const MODE = opt('mode', 'cpu');
const H2 = argv.includes('--h2');
const TLS = argv.includes('--tls') || MODE === 'resume' || H2;
const SECONDS = Number(opt('seconds', 8));
const CONNS = Number(opt('connections', H2 ? 10 : 50));
const TOP = Number(opt('top', 25));
const WRK_ARGS = ['/1k', ...opt('wrk-args', '').split(' ').filter(Boolean)];
const scheme = TLS ? 'https' : 'http';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-deep-'));
const backends = [await freePort(), await freePort(), await freePort(), await freePort()];
const listen = await freePort();
let cert = null;
if (TLS) {
  const { makeCert } = await import(path.join(ROOT, 'dist', 'tls', 'self-signed.js'));
  const c = await makeCert({ names: ['localhost'] });
  cert = { cert: path.join(dir, 'localhost.pem'), key: path.join(dir, 'localhost.key') };
  fs.writeFileSync(cert.cert, c.cert);
  fs.writeFileSync(cert.key, c.key, { mode: 0o600 });
}
const file = luaproxyScript(dir, listen, backends, 'deep', { tls: cert });

// the preload of --mode stats: counts in the proxy process, written at exit
const PRELOAD = path.join(dir, 'sockstats.cjs');
fs.writeFileSync(PRELOAD, `
const net = require('node:net'); const tls = require('node:tls'); const fs = require('node:fs');
const st = { data: 0, dataBytes: 0, hist: {}, jsWrite: 0, jsWritev: 0, writevChunks: 0, writeBytes: 0, secure: 0, reused: 0, alloc64k: 0 };
const au = Buffer.allocUnsafe; Buffer.allocUnsafe = function (n) { if (n === 65536) st.alloc64k++; return au.apply(this, arguments); };
const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (ev, a) {
  if (ev === 'data' && a && a.length !== undefined) {
    st.data++; st.dataBytes += a.length;
    const b = a.length < 64 ? '<64' : a.length < 512 ? '<512' : a.length < 2048 ? '<2k' : a.length < 16384 ? '<16k' : '>=16k';
    const k = (this instanceof tls.TLSSocket ? 'tls ' : 'tcp ') + b; st.hist[k] = (st.hist[k] || 0) + 1;
  } else if (ev === 'secure' && this.isSessionReused) { st.secure++; if (this.isSessionReused()) st.reused++; }
  return emit.apply(this, arguments);
};
const wg = net.Socket.prototype._writeGeneric;
net.Socket.prototype._writeGeneric = function (writev, data, enc, cb) {
  if (writev) { st.jsWritev++; st.writevChunks += data.length; for (const c of data) st.writeBytes += c.chunk.length; }
  else { st.jsWrite++; st.writeBytes += data.length; }
  return wg.apply(this, arguments);
};
process.on('exit', () => fs.writeFileSync(${JSON.stringify(path.join(dir, 'sockstats.json'))}, JSON.stringify(st)));
`);


async function startAll(flags) {
  const origin = startProc('origin', 'nginx', ['-p', dir, '-c', nginxOrigin(dir, backends)], { cpu: 1 });
  const lp = startProc('luaproxy', process.execPath, [...flags, ...opt('node-flags', '').split(' ').filter(Boolean), path.join(ROOT, 'bin/luaproxy.js'), 'run', file, '--json', '--no-watch'], { cpu: 0, logFile: path.join(dir, 'luaproxy.log'), cwd: dir });
  try {
    for (const b of backends) await waitPort(b);
    await waitPort(listen);
  } catch (e) {
    // nothing is left running when the proxy does not start (see luaproxy.log in the folder)
    await stopProc(lp, 'SIGKILL');
    await stopProc(origin, 'SIGQUIT');
    throw e;
  }
  return { origin, lp };
}
async function stopAll({ origin, lp }) { await stopProc(lp, 'SIGINT'); await stopProc(origin, 'SIGQUIT'); await sleep(300); }
/** the pid of node itself (startProc runs it through sh ... exec, so it is the same pid) */
const wrk = (seconds) => (H2
  ? runH2load({ port: listen, connections: CONNS, streams: Number(opt('streams', 10)), seconds, cpu: 1, path: WRK_ARGS[0] })
  : runWrk({ port: listen, connections: CONNS, seconds, cpu: 1, args: WRK_ARGS, scheme }));

console.log(`mode ${MODE}, ${scheme}, ${H2 ? `h2load ${WRK_ARGS[0]} c${CONNS} m${Number(opt('streams', 10))}` : `wrk ${WRK_ARGS.join(' ')} c${CONNS}`}, ${SECONDS}s; files in ${dir}`);

if (MODE === 'cpu') {
  // 1) without the profiler: CPU µs per request
  let procs = await startAll([]);
  try {
    await wrk(2);
    const c0 = cpuSeconds(procs.lp.pid);
    const r = await wrk(SECONDS);
    const cpu = cpuSeconds(procs.lp.pid) - c0;
    console.log(`no profiler: ${r.rps.toFixed(0)} req/s, ${(cpu * 1e6 / r.requests).toFixed(1)} CPU µs/req, errors ${r.errors + r.non2xx}`);
  } finally { await stopAll(procs); }
  if (argv.includes('--no-prof')) process.exit(0);
  // 2) with --cpu-prof
  procs = await startAll(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  let requests = 0;
  try {
    await wrk(2);
    const r = await wrk(SECONDS);
    requests = r.requests;
    console.log(`under the profiler: ${r.rps.toFixed(0)} req/s`);
  } finally { await stopAll(procs); }
  summarize(path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))), requests);
} else if (MODE === 'strace') {
  const procs = await startAll([]);
  try {
    await wrk(2);
    const out = path.join(dir, 'strace.txt');
    const st = spawn('strace', ['-c', '-f', '-o', out, '-p', String(procs.lp.pid)], { stdio: 'ignore' });
    await sleep(500);
    const r = await wrk(SECONDS);
    process.kill(st.pid, 'SIGINT');
    await new Promise((res) => st.once('exit', res));
    console.log(`${r.requests} requests (${r.rps.toFixed(0)} req/s under strace)`);
    const lines = fs.readFileSync(out, 'utf8').split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l));
    console.log('syscall            calls/request  (errors)');
    for (const l of lines) {
      const f = l.trim().split(/\s+/);
      const calls = Number(f[3]);
      const errors = f.length === 6 ? Number(f[4]) : 0;
      const name = f[f.length - 1];
      if (calls / r.requests >= 0.01) console.log(`  ${name.padEnd(16)} ${(calls / r.requests).toFixed(2).padStart(6)}${errors ? `  (${(errors / r.requests).toFixed(2)})` : ''}`);
    }
  } finally { await stopAll(procs); }
} else if (MODE === 'perf') {
  // native and kernel time too (what --cpu-prof folds into "(program)" or into a native call such as writev)
  const procs = await startAll(['--perf-basic-prof-only-functions']);
  try {
    await wrk(2);
    const data = path.join(dir, 'perf.data');
    const pr = spawn('perf', ['record', '-F', '1999', '-g', '-o', data, '-p', String(procs.lp.pid)], { stdio: 'ignore' });
    await sleep(300);
    const r = await wrk(SECONDS);
    process.kill(pr.pid, 'SIGINT');
    await new Promise((res) => pr.once('exit', res));
    console.log(`${r.requests} requests (${r.rps.toFixed(0)} req/s under perf)`);
    const rep = (sort, extra = []) => execFileSync('perf', ['report', '-i', data, '--no-children', '--sort', sort, '--stdio', '-g', 'none', '--percent-limit', '0.7', ...extra], { maxBuffer: 1 << 26 }).toString()
      .split('\n').filter((l) => /^\s+[\d.]+%/.test(l)).slice(0, 30).join('\n');
    console.log(`\nby binary (dso):\n${rep('dso')}`);
    console.log(`\ntop symbols:\n${rep('dso,sym')}`);
  } finally { await stopAll(procs); }
} else if (MODE === 'stats') {
  const procs = await startAll(['--require', PRELOAD]);
  let r;
  try {
    await wrk(1);
    r = await wrk(SECONDS);
  } finally { await stopAll(procs); }
  const st = JSON.parse(fs.readFileSync(path.join(dir, 'sockstats.json'), 'utf8'));
  const total = r.requests; // the counts include the 1 s warm-up: per request of both
  const all = total * (1 + 1 / SECONDS);
  console.log(`~${all.toFixed(0)} requests incl. warm-up`);
  console.log(`'data' events per request: ${(st.data / all).toFixed(2)}, mean ${(st.dataBytes / st.data).toFixed(0)} B; sizes: ${JSON.stringify(st.hist)}`);
  console.log(`JS socket writes per request: write ${(st.jsWrite / all).toFixed(2)}, writev ${(st.jsWritev / all).toFixed(2)} (${(st.writevChunks / Math.max(1, st.jsWritev)).toFixed(1)} chunks each)`);
  console.log(`Buffer.allocUnsafe(65536) per request (a backend read buffer replaced): ${(st.alloc64k / all).toFixed(2)}`);
  if (st.secure) console.log(`TLS handshakes: ${st.secure}, resumed ${st.reused} (${(100 * st.reused / st.secure).toFixed(1)}%)`);
} else if (MODE === 'resume') {
  const procs = await startAll([]);
  try {
    const n = Number(opt('n', 200));
    let session, reused = 0, tickets = 0;
    for (let i = 0; i < n; i++) {
      await new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: listen, servername: 'localhost', rejectUnauthorized: false, session });
        s.on('session', (sess) => { session = sess; tickets++; });
        s.once('secureConnect', () => {
          if (s.isSessionReused()) reused++;
          s.write('GET /1k HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n');
        });
        s.on('data', () => {});
        s.once('end', () => { s.end(); }); s.once('close', resolve); s.once('error', reject);
      });
    }
    console.log(`${n} sequential connections, each offering the last session received: ${reused} resumed (${(100 * reused / n).toFixed(1)}%), ${tickets} tickets received`);
    const ver = execFileSync('sh', ['-c', `echo | timeout 5 openssl s_client -connect 127.0.0.1:${listen} -servername localhost -reconnect -tls1_2 2>/dev/null | grep -E '^(New|Reused),' | sort | uniq -c`]).toString();
    console.log(`openssl s_client -reconnect -tls1_2 (1 full + 5 reconnects):\n${ver}`);
  } finally { await stopAll(procs); }
} else if (MODE === 'rss') {
  // a fresh process (no warm-up, no snapshot): RSS and process.memoryUsage() (after a full GC) before and after N idle clients
  const MEM = path.join(dir, 'memusage.cjs');
  fs.writeFileSync(MEM, `process.on('SIGUSR2', () => { globalThis.gc?.(); globalThis.gc?.(); require('node:fs').appendFileSync(${JSON.stringify(path.join(dir, 'mem.jsonl'))}, JSON.stringify(process.memoryUsage()) + '\\n'); });`);
  const procs = await startAll(['--expose-gc', '--require', MEM]);
  const N = Number(opt('conns', 10000));
  const mem = async () => {
    const f = path.join(dir, 'mem.jsonl');
    const had = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
    process.kill(procs.lp.pid, 'SIGUSR2');
    for (;;) { await sleep(200); const l = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : []; if (l.length > had) return { ...JSON.parse(l.at(-1)), rssProc: memoryMB(procs.lp.pid).rss * 2 ** 20 }; }
  };
  let client;
  try {
    await sleep(1000);
    const m0 = await mem();
    client = spawn('sh', ['-c', `ulimit -n $(ulimit -Hn); exec ${idleClient()}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const opened = await new Promise((resolve) => { let t = ''; client.stdout.on('data', (c) => { t += c; if (t.includes('\n')) resolve(t.trim()); }); });
    await sleep(Number(opt('settle', 5)) * 1000); // --settle: seconds the clients sit idle before the reading
    const m1 = await mem();
    console.log(`client: ${opened}`);
    for (const k of ['rssProc', 'rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers']) console.log(`  ${k.padEnd(12)} ${(m0[k] / 2 ** 20).toFixed(1).padStart(7)} -> ${(m1[k] / 2 ** 20).toFixed(1).padStart(7)} MB  (+${((m1[k] - m0[k]) / 2 ** 20).toFixed(1)} MB, ${((m1[k] - m0[k]) / N).toFixed(0)} B per connection)`);
  } finally { client?.kill('SIGKILL'); await stopAll(procs); }
} else if (MODE === 'heap') {
  const N = Number(opt('conns', 2000));
  const procs = await startAll(['--heapsnapshot-signal=SIGUSR2']);
  const snap = async () => {
    const before = new Set(fs.readdirSync(procs.lp.pid ? dir : dir));
    process.kill(procs.lp.pid, 'SIGUSR2');
    for (let i = 0; i < 600; i++) {
      await sleep(100);
      const f = fs.readdirSync(dir).find((x) => x.endsWith('.heapsnapshot') && !before.has(x));
      if (f) {
        // written in pieces: done when it ends its JSON and stops growing
        const full = path.join(dir, f);
        for (let s = -1; ;) {
          await sleep(700);
          const now = fs.statSync(full).size;
          if (now === s && fs.readFileSync(full, 'latin1').trimEnd().endsWith('}')) return full;
          s = now;
        }
      }
    }
    throw new Error('no heap snapshot');
  };
  let client;
  try {
    // warm: one short load so lazily made state (pools, JIT) exists before the first snapshot
    await wrk(1);
    await sleep(1500);
    const s0 = await snap();
    const rss0 = memoryMB(procs.lp.pid).rss;
    client = spawn('sh', ['-c', `ulimit -n $(ulimit -Hn); exec ${idleClient()}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const opened = await new Promise((resolve) => { let t = ''; client.stdout.on('data', (c) => { t += c; if (t.includes('\n')) resolve(t.trim()); }); });
    await sleep(3000);
    const rss1 = memoryMB(procs.lp.pid).rss;
    const s1 = await snap();
    const rss2 = memoryMB(procs.lp.pid).rss;
    console.log(`client: ${opened}; RSS ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB (+${((rss1 - rss0) * 1024 / N).toFixed(1)} KiB per connection; ${rss2.toFixed(1)} MB after the second snapshot)`);
    heapDiff(s0, s1, N);
  } finally { client?.kill('SIGKILL'); await stopAll(procs); }
}

/** the idle clients: like bench/idle-conns.mjs (one GET each, then idle), plain or TLS, `--batch` at a time (500 there) */
function idleClient() {
  const f = path.join(dir, 'idle-client.mjs');
  fs.writeFileSync(f, `import net from 'node:net'; import tls from 'node:tls';
const [port, n, batch, useTls] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5] === 'tls']; const keep = []; let done = 0;
const one = (i) => new Promise((res) => {
  const s = useTls ? tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }) : net.connect(port, '127.0.0.1');
  let got = 0; s.on('error', res); s.on(useTls ? 'secureConnect' : 'connect', () => s.write('GET /1k HTTP/1.1\\r\\nHost: idle' + (i % 200) + '.example.com\\r\\n\\r\\n'));
  s.on('data', (c) => { got += c.length; if (got >= 1024 && got - c.length < 1024) { done++; res(); } }); keep.push(s); });
for (let i = 0; i < n; i += batch) await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => one(i + k)));
console.log('open ' + done); setInterval(() => {}, 1 << 30);`);
  return `"${process.execPath}" "${f}" ${listen} ${Number(opt('conns', 2000))} ${Number(opt('batch', 500))} ${TLS ? 'tls' : 'plain'}`;
}

function summarize(file, requests) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const dt = new Map();
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const areaOf = (cf) => {
    const url = cf.url, fn = cf.functionName;
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)' || fn === '(program)') return fn;
    if (url.includes('fengari')) return 'Lua VM (fengari)';
    if (url.includes('/dist/')) return 'luaproxy code';
    if (url.startsWith('node:')) return `node:${url.slice(5).replace(/^internal\//, 'internal/')}`;
    if (!url) return `native: ${fn}`;
    return 'other';
  };
  const self = new Map(), area = new Map();
  let total = 0;
  for (const n of p.nodes) {
    const t = dt.get(n.id) ?? 0;
    if (!t) continue;
    const cf = n.callFrame;
    const a = areaOf(cf);
    if (a === '(idle)') continue;
    total += t;
    const key = `${cf.functionName || '(anonymous)'}  ${cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + t);
    area.set(a, (area.get(a) ?? 0) + t);
  }
  // inclusive time of a few named JS functions (all frames under them)
  const incl = new Map();
  const watch = ['onStreamRead', 'writeGeneric', 'writevGeneric', 'onConnection', 'onSocketClose', 'TLSSocket', 'onnewsession', 'onhandshakedone', 'ClientConn', 'destroy', 'onData', 'emitCloseNT', '_final', 'listOnTimeout', 'processTicksAndRejections'];
  for (const n of p.nodes) {
    const t = dt.get(n.id) ?? 0;
    if (!t || n.callFrame.functionName === '(idle)') continue;
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const fn = byId.get(id).callFrame.functionName;
      if (watch.includes(fn) && !seen.has(fn)) { seen.add(fn); incl.set(fn, (incl.get(fn) ?? 0) + t); }
    }
  }
  const pct = (t) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
  const us = (t) => requests ? `${(t / requests).toFixed(1).padStart(6)} µs/req` : '';
  console.log(`\nbusy time ${(total / 1e6).toFixed(2)} s over ${requests} requests = ${(total / requests).toFixed(1)} µs/req under the profiler`);
  console.log('\nby area (share of busy time):');
  for (const [a, t] of [...area].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`  ${pct(t)} ${us(t)}  ${a}`);
  console.log(`\ntop ${TOP} functions by self time:`);
  for (const [k, t] of [...self].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`  ${pct(t)} ${us(t)}  ${k}`);
  console.log('\ninclusive time under these functions:');
  for (const [k, t] of [...incl].sort((x, y) => y[1] - x[1])) console.log(`  ${pct(t)} ${us(t)}  ${k}`);
  console.log(`\nprofile: ${file}`);
}

function heapDiff(f0, f1, n) {
  const agg = (f) => {
    const s = JSON.parse(fs.readFileSync(f, 'utf8'));
    const m = s.snapshot.meta, nf = m.node_fields.length;
    const iType = m.node_fields.indexOf('type'), iName = m.node_fields.indexOf('name'), iSize = m.node_fields.indexOf('self_size');
    const types = m.node_types[iType];
    const out = new Map();
    let total = 0;
    for (let i = 0; i < s.nodes.length; i += nf) {
      const type = types[s.nodes[i + iType]];
      let name = s.strings[s.nodes[i + iName]];
      if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
      else if (type === 'code') name = '(code)';
      else if (type === 'number') name = '(heap number)';
      else if (name.length > 60) name = name.slice(0, 60) + '…';
      const key = `${type}: ${name}`;
      const e = out.get(key) ?? { count: 0, size: 0 };
      e.count++; e.size += s.nodes[i + iSize]; total += s.nodes[i + iSize];
      out.set(key, e);
    }
    return { out, total };
  };
  const a = agg(f0), b = agg(f1);
  console.log(`heap snapshot total: ${(a.total / 2 ** 20).toFixed(1)} -> ${(b.total / 2 ** 20).toFixed(1)} MB (+${((b.total - a.total) / n).toFixed(0)} B per connection)`);
  const rows = [];
  for (const [k, e] of b.out) {
    const o = a.out.get(k) ?? { count: 0, size: 0 };
    const dc = e.count - o.count, ds = e.size - o.size;
    if (Math.abs(ds) / n >= 8 || dc / n >= 0.9) rows.push([k, dc / n, ds / n]);
  }
  rows.sort((x, y) => y[2] - x[2]);
  console.log('per idle connection: objects  bytes  (type: constructor or name)');
  for (const [k, c, s] of rows.slice(0, 45)) console.log(`  ${c.toFixed(2).padStart(7)} ${s.toFixed(0).padStart(7)}  ${k}`);
}
