#!/usr/bin/env node
// Where luaproxy's CPU time goes under load: runs it with --cpu-prof behind the nginx
// origin, drives it with wrk (1 KiB, 50 connections), and prints the top functions by
// self time, and the time by area (Lua VM, HTTP server, undici, logging, GC, ...).
//
//   node bench/profile.mjs [--seconds 10] [--top 30] [--path /1k] [--wrk-args "GET 0 close"]   (the .cpuprofile is kept for a flame graph)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProc, stopProc, waitPort, sleep, freePort } from './lib/procs.mjs';
import { runWrk } from './lib/wrk.mjs';
import { nginxOrigin, luaproxyScript } from './lib/configs.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const SECONDS = Number(opt('seconds', 10));
const TOP = Number(opt('top', 30));
const PATH = opt('path', '/1k');
// more wrk script arguments after the path, e.g. --wrk-args "GET 0 close" for a new connection per request
const WRK_ARGS = [PATH, ...opt('wrk-args', '').split(' ').filter(Boolean)];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-prof-'));
const backends = [await freePort(), await freePort(), await freePort(), await freePort()];
const listen = await freePort();
const origin = startProc('origin', 'nginx', ['-p', dir, '-c', nginxOrigin(dir, backends)], { cpu: 1 });
const file = luaproxyScript(dir, listen, backends);
const lp = startProc('luaproxy', process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, path.join(ROOT, 'bin/luaproxy.js'), 'run', file, '--json', '--no-watch'], { cpu: 0, logFile: path.join(dir, 'luaproxy.log'), cwd: dir });
try {
  for (const b of backends) await waitPort(b);
  await waitPort(listen);
  await runWrk({ port: listen, connections: 50, seconds: 2, cpu: 1, args: WRK_ARGS });
  const r = await runWrk({ port: listen, connections: 50, seconds: SECONDS, cpu: 1, args: WRK_ARGS });
  console.log(`${r.rps.toFixed(0)} req/s under the profiler`);
} finally {
  await stopProc(lp, 'SIGINT');
  await stopProc(origin, 'SIGQUIT');
}
await sleep(200);
const prof = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!prof) { console.error('no profile written'); process.exit(1); }
const p = JSON.parse(fs.readFileSync(path.join(dir, prof), 'utf8'));
const self = new Map();
const dt = new Map();
for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
let total = 0;
const area = new Map();
const areaOf = (url, fn) => {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (url.includes('fengari')) return 'Lua VM (fengari)';
  if (url.includes('/undici/')) return 'undici (backend leg)';
  if (url.includes('pino') || url.includes('sonic-boom') || url.includes('fast-safe-stringify')) return 'logging (pino)';
  if (url.includes('/dist/')) return 'luaproxy code';
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
  if (!url) return 'native/builtin';
  return 'other';
};
for (const n of p.nodes) {
  const t = dt.get(n.id) ?? 0;
  const cf = n.callFrame;
  const key = `${cf.functionName || '(anonymous)'}  ${cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${cf.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + t);
  const a = areaOf(cf.url, cf.functionName);
  area.set(a, (area.get(a) ?? 0) + t);
  if (cf.functionName !== '(idle)') total += t;
}
const pct = (t) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
console.log('\nby area (share of busy time):');
for (const [a, t] of [...area].filter(([a]) => a !== '(idle)').sort((x, y) => y[1] - x[1])) console.log(`  ${pct(t)}  ${a}`);
console.log(`\ntop ${TOP} functions by self time:`);
for (const [k, t] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`  ${pct(t)}  ${k}`);
console.log(`\nprofile: ${path.join(dir, prof)} (open in Chrome DevTools or speedscope for a flame graph)`);
