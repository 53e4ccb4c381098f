#!/usr/bin/env node
// luaproxy against its peers, side by side on one machine. Run by hand, never in CI:
//
//   node bench/run.mjs [--rounds 3] [--seconds 8] [--warmup 2] [--only luaproxy,nginx]
//                      [--scenarios 1k-c50,1m-c50] [--out bench/results] [--access-log off]
//   node bench/run.mjs --only luaproxy-tls,nginx-tls --scenarios tls-1k-c50,tls-newconn,h2-1k-m10
//
// Needs: wrk and nginx (Debian: installed with apt-get when missing and run as root),
// optionally haproxy; the Node peers come from devDependencies (npm install). With 2+
// cores every proxy is pinned alone on CPU 0, and the nginx origin and wrk share CPU 1.
// Scenarios run interleaved (every proxy once per scenario per round) and medians are
// reported. The tls-* and h2-* scenarios run only on the *-tls peers (luaproxy and nginx
// listening for HTTPS, with h2 offered by ALPN, with the same certificate, made at start),
// and the others only on the rest. h2-* scenarios are driven by h2load (nghttp2-client).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startProc, stopProc, waitPort, cpuSeconds, memoryMB, have, sleep, freePort } from './lib/procs.mjs';
import { runWrk } from './lib/wrk.mjs';
import { runH2load } from './lib/h2load.mjs';
import { nginxOrigin, nginxProxy, haproxyProxy, luaproxyScript } from './lib/configs.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, def) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : def; };
const ROUNDS = Number(opt('rounds', 3));
const SECONDS = Number(opt('seconds', 8));
const WARMUP = Number(opt('warmup', 2));
const ONLY = opt('only', null)?.split(',');
const ACCESS = opt('access-log', 'on') !== 'off';
const OUT = path.resolve(opt('out', path.join(ROOT, 'bench', 'results')));

const CORES = os.cpus().length;
const PROXY_CPU = CORES >= 2 ? 0 : null;
const LOAD_CPU = CORES >= 2 ? 1 : null;

// ---------------------------------------------------------------- requirements
/** Debian packages of the commands the bench needs, installed when missing (root and apt-get only) */
const PACKAGES = { wrk: 'wrk', nginx: 'nginx', taskset: 'util-linux' };
// h2load only when an h2-* scenario is asked for (all are, without --scenarios)
if (!opt('scenarios', null) || opt('scenarios', '').split(',').some((s) => s.startsWith('h2-'))) PACKAGES.h2load = 'nghttp2-client';
const absent = () => Object.keys(PACKAGES).filter((c) => !have(c));
if (absent().length && have('apt-get') && process.getuid?.() === 0) {
  const pkgs = absent().map((c) => PACKAGES[c]);
  console.log(`installing ${pkgs.join(', ')} (apt-get install -y)...`);
  const install = () => execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit' });
  try { install(); } catch { execFileSync('apt-get', ['update'], { stdio: 'inherit' }); install(); }
}
const missing = absent();
if (missing.length) {
  console.error(`bench needs: ${missing.join(', ')} (Debian: apt-get install -y nginx wrk haproxy util-linux nghttp2-client)`);
  process.exit(2);
}
const HAVE_HAPROXY = have('haproxy');
if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) {
  console.log('building dist/ (npm run build)...');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-bench-'));
// ports: taken free from the kernel up front (other processes on this machine use ports too)
const PORTS = [];
for (let i = 0; i < 40; i++) PORTS.push(await freePort()); // each start takes one: peers, then fresh ones for memory and cluster
const port = () => PORTS.shift();
const BACKENDS = [port(), port(), port(), port()];
const node = process.execPath;

// one certificate for every HTTPS listener (ECDSA P-256, self-signed for localhost), made by luaproxy's own src/tls
const CERT = await (async () => {
  const { makeCert } = await import(path.join(ROOT, 'dist', 'tls', 'self-signed.js'));
  const c = await makeCert({ names: ['localhost'] });
  const files = { cert: path.join(dir, 'localhost.pem'), key: path.join(dir, 'localhost.key') };
  fs.writeFileSync(files.cert, c.cert);
  fs.writeFileSync(files.key, c.key, { mode: 0o600 });
  return files;
})();
/** the scenarios HTTPS peers run */
const TLS_SCENARIOS = ['tls-1k-c50', 'tls-newconn', 'h2-1k-m10'];

// ---------------------------------------------------------------- the peers
/** each starts pinned on PROXY_CPU and returns { proc, port, reload? } */
const PEERS = {
  direct: { label: 'direct to origin (no proxy)', start: async () => ({ proc: null, port: BACKENDS[0] }) },
  luaproxy: {
    label: 'luaproxy (Lua route + proxy.hash, access log to a file)',
    start: async ({ workers = 1, cpu = PROXY_CPU } = {}) => {
      const p = port();
      const file = luaproxyScript(dir, p, BACKENDS, '', { access: ACCESS });
      const args = [path.join(ROOT, 'bin', 'luaproxy.js'), 'run', file, '--json', '--no-watch'];
      if (workers !== 1) args.push('--workers', String(workers));
      const proc = startProc('luaproxy', node, args, { cpu, logFile: path.join(dir, `luaproxy-${workers}.log`) });
      await waitPort(p);
      return {
        proc, port: p,
        reload: (n) => { luaproxyScript(dir, p, BACKENDS, `v${n}`, { access: ACCESS }); process.kill(proc.pid, 'SIGHUP'); },
      };
    },
  },
  'luaproxy-tls': {
    label: 'luaproxy listening for HTTPS only (same script, access log to a file)',
    tls: true,
    start: async () => {
      const p = port();
      const file = luaproxyScript(dir, p, BACKENDS, 'tls', { access: ACCESS, name: 'luaproxy-tls.lua', tls: CERT });
      const proc = startProc('luaproxy-tls', node, [path.join(ROOT, 'bin', 'luaproxy.js'), 'run', file, '--json', '--no-watch'], { cpu: PROXY_CPU, logFile: path.join(dir, 'luaproxy-tls.log') });
      await waitPort(p);
      return { proc, port: p };
    },
  },
  'luaproxy-nolog': {
    label: 'luaproxy with log.access = false (what the access log costs)',
    start: async () => {
      const p = port();
      const nolog = luaproxyScript(dir, p, BACKENDS, 'nolog', { access: false, name: 'luaproxy-nolog.lua' });
      const proc = startProc('luaproxy-nolog', node, [path.join(ROOT, 'bin', 'luaproxy.js'), 'run', nolog, '--json', '--no-watch'], { cpu: PROXY_CPU, logFile: path.join(dir, 'luaproxy-nolog.log') });
      await waitPort(p);
      return { proc, port: p };
    },
  },
  'undici-min': {
    label: 'minimal node:http + undici Pool proxy (bench/peers)',
    start: async () => {
      const p = port();
      const proc = startProc('undici-min', node, [path.join(ROOT, 'bench/peers/undici-proxy.mjs'), String(p), `http://127.0.0.1:${BACKENDS[0]}`], { cpu: PROXY_CPU });
      await waitPort(p);
      return { proc, port: p };
    },
  },
  'raw-floor': {
    label: 'the floor: a raw net.Socket relay with no parsing, routing or logs (bench/peers/raw-floor.mjs; not a usable proxy)',
    // GETs on keep-alive connections only: it does not read request bodies or handle closes
    only: ['1k-c50', '1k-c200', '1m-c50'],
    start: async () => {
      const p = port();
      const proc = startProc('raw-floor', node, [path.join(ROOT, 'bench/peers/raw-floor.mjs'), String(p), String(BACKENDS[0])], { cpu: PROXY_CPU });
      await waitPort(p);
      return { proc, port: p };
    },
  },
  'http-proxy': {
    label: 'node-http-proxy 1.18.1, keep-alive agent',
    start: async () => {
      const p = port();
      const proc = startProc('http-proxy', node, [path.join(ROOT, 'bench/peers/http-proxy.mjs'), String(p), `http://127.0.0.1:${BACKENDS[0]}`], { cpu: PROXY_CPU });
      await waitPort(p);
      return { proc, port: p };
    },
  },
  fastify: {
    label: 'fastify 5 + @fastify/reply-from 12',
    start: async () => {
      const p = port();
      const proc = startProc('fastify', node, [path.join(ROOT, 'bench/peers/fastify-proxy.mjs'), String(p), `http://127.0.0.1:${BACKENDS[0]}`], { cpu: PROXY_CPU });
      await waitPort(p);
      return { proc, port: p };
    },
  },
  nginx: {
    label: 'nginx 1 worker (hash $host consistent, access log buffered to a file)',
    start: async () => {
      const p = port();
      const conf = nginxProxy(dir, p, BACKENDS);
      const proc = startProc('nginx', 'nginx', ['-p', dir, '-c', conf], { cpu: PROXY_CPU });
      await waitPort(p);
      return { proc, port: p, reload: () => process.kill(proc.pid, 'SIGHUP') };
    },
  },
  'nginx-tls': {
    label: 'nginx 1 worker listening for HTTPS only, h2 offered by ALPN (same certificate; session tickets on, its default)',
    tls: true,
    start: async () => {
      const p = port();
      const conf = nginxProxy(dir, p, BACKENDS, { tls: CERT, name: 'nginx-tls' });
      const proc = startProc('nginx-tls', 'nginx', ['-p', dir, '-c', conf], { cpu: PROXY_CPU });
      await waitPort(p);
      return { proc, port: p };
    },
  },
  haproxy: {
    label: 'HAProxy 1 thread (balance hdr(host) consistent, no logs)',
    available: HAVE_HAPROXY,
    start: async () => {
      const p = port();
      const conf = haproxyProxy(dir, p, BACKENDS);
      const proc = startProc('haproxy', 'haproxy', ['-db', '-f', conf], { cpu: PROXY_CPU });
      await waitPort(p);
      return { proc, port: p };
    },
  },
};

const SCENARIOS = {
  '1k-c50': { connections: 50, args: ['/1k'], about: '1 KiB responses, 50 keep-alive connections' },
  '1k-c200': { connections: 200, args: ['/1k'], about: '1 KiB responses, 200 keep-alive connections' },
  '1m-c50': { connections: 50, args: ['/1m'], about: '1 MiB responses, 50 connections' },
  'post64k': { connections: 50, args: ['/post', 'POST', '65536'], about: 'POST with a 64 KiB body, 50 connections' },
  'newconn': { connections: 50, args: ['/1k', 'GET', '0', 'close'], about: 'a new connection per request (Connection: close), 50 at a time' },
  'reload': { connections: 50, args: ['/1k'], reloadEvery: 1000, about: '1 KiB, 50 connections, a hot reload every second (proxies that reload)' },
  'tls-1k-c50': { connections: 50, args: ['/1k'], scheme: 'https', about: 'HTTPS: 1 KiB responses, 50 keep-alive connections' },
  // wrk keeps a session it got a ticket for and resumes it on the next connection, so this is a mix of full and resumed handshakes (see bench/README.md)
  'tls-newconn': { connections: 50, args: ['/1k', 'GET', '0', 'close'], scheme: 'https', about: 'HTTPS: a new TLS connection per request (Connection: close), 50 at a time' },
  // h2load: one :authority (localhost), so both proxies hash every request to the same backend
  'h2-1k-m10': { connections: 10, streams: 10, args: ['/1k'], scheme: 'https', tool: 'h2load', about: 'HTTP/2 (h2load): 1 KiB responses, 10 connections x 10 concurrent streams' },
};
const wanted = opt('scenarios', Object.keys(SCENARIOS).join(',')).split(',');
const EXTRA = wanted.filter((s) => s === 'memory' || s === 'cluster');
const scenarioNames = wanted.filter((s) => SCENARIOS[s]);

// ---------------------------------------------------------------- one measured run
/** the scenario's load generator, pinned with the origin: wrk, or h2load for h2-* */
function load(running, scen, seconds) {
  if (scen.tool === 'h2load') return runH2load({ port: running.port, connections: scen.connections, streams: scen.streams, seconds, cpu: LOAD_CPU, path: scen.args[0] });
  return runWrk({ port: running.port, connections: scen.connections, seconds, cpu: LOAD_CPU, args: scen.args, scheme: scen.scheme });
}

async function measure(peer, running, scen, seconds) {
  const pid = running.proc?.pid;
  let peak = pid ? memoryMB(pid).rss : 0;
  const sampler = pid ? setInterval(() => { peak = Math.max(peak, memoryMB(pid).rss); }, 200) : null;
  let reloads = 0;
  const reloader = scen.reloadEvery && running.reload ? setInterval(() => running.reload(++reloads), scen.reloadEvery) : null;
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  try {
    const r = await load(running, scen, seconds);
    // a reload that replaces worker processes (nginx) loses their CPU time: no figure then
    const cpu = pid ? cpuSeconds(pid) - cpu0 : NaN;
    if (cpu < 0) return { ...r, cpuUsPerReq: NaN, cpuSeconds: NaN, peakMB: peak, reloads };
    return { ...r, cpuUsPerReq: r.requests ? (cpu * 1e6) / r.requests : NaN, cpuSeconds: cpu, peakMB: peak, reloads };
  } finally {
    if (sampler) clearInterval(sampler);
    if (reloader) clearInterval(reloader);
  }
}

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ---------------------------------------------------------------- main
const origin = startProc('origin', 'nginx', ['-p', dir, '-c', nginxOrigin(dir, BACKENDS)], { cpu: LOAD_CPU });
const started = new Map();
const results = {}; // scenario -> peer -> [runs]
const idle = {};
const meta = {
  date: new Date().toISOString(), host: os.hostname(), cpus: `${CORES} x ${os.cpus()[0]?.model}`, memGB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version, loadavgAtStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  nginx: execFileSync('nginx', ['-v'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString() || 'nginx',
  command: `node bench/run.mjs ${argv.join(' ')}`.trim(), rounds: ROUNDS, seconds: SECONDS, warmup: WARMUP,
  pinning: PROXY_CPU === null ? 'none (1 core)' : `proxy on CPU ${PROXY_CPU}; origin + wrk on CPU ${LOAD_CPU}`,
};
const cleanup = async () => {
  for (const r of started.values()) await stopProc(r.proc);
  await stopProc(origin, 'SIGQUIT');
};
process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)); });

try {
  for (const b of BACKENDS) await waitPort(b);
  const peers = Object.keys(PEERS).filter((p) => PEERS[p].available !== false && (!ONLY || ONLY.includes(p) || p === 'direct'));
  console.log(`bench: ${meta.cpus}, ${meta.pinning}; peers: ${peers.join(', ')}; scenarios: ${[...scenarioNames, ...EXTRA].join(', ')}; ${ROUNDS} rounds x ${SECONDS}s (+${WARMUP}s warm-up)`);
  console.log(`logs and configs in ${dir}`);
  for (const p of peers) {
    const r = await PEERS[p].start();
    started.set(p, r);
    await sleep(300);
    if (r.proc) idle[p] = memoryMB(r.proc.pid).rss;
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const s of scenarioNames) {
      const scen = SCENARIOS[s];
      // rotate the order each round so no peer always runs right after the same neighbour
      const order = peers.slice(round % peers.length).concat(peers.slice(0, round % peers.length));
      for (const p of order) {
        const running = started.get(p);
        if (scen.reloadEvery && !running.reload) continue;
        if (PEERS[p].only && !PEERS[p].only.includes(s)) continue;
        // HTTPS peers run the tls-* and h2-* scenarios, and only those
        if (Boolean(PEERS[p].tls) !== TLS_SCENARIOS.includes(s)) continue;
        if (WARMUP > 0) await load(running, scen, WARMUP).catch(() => null);
        const r = await measure(p, running, scen, SECONDS);
        ((results[s] ??= {})[p] ??= []).push(r);
        console.log(`round ${round} ${s.padEnd(8)} ${p.padEnd(11)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  cpu ${r.cpuUsPerReq.toFixed(1)} us/req  rss ${r.peakMB.toFixed(0)} MB${r.errors || r.non2xx ? `  ERRORS ${r.errors} non2xx ${r.non2xx}` : ''}${r.reloads ? `  reloads ${r.reloads}` : ''}`);
      }
    }
  }
  const extra = {};
  if (EXTRA.includes('memory')) extra.memory = await memoryScenario(peers.filter((p) => p !== 'direct' && !PEERS[p].only && !PEERS[p].tls));
  if (EXTRA.includes('cluster')) extra.cluster = await clusterScenario();
  report(peers, extra);
} finally {
  await cleanup();
}

// ---------------------------------------------------------------- extra scenarios
async function memoryScenario(peers) {
  const out = {};
  // the floor: what Node's own http server costs per idle keep-alive connection
  const barePort = await freePort();
  const bare = startProc('node-bare', node, [path.join(ROOT, 'bench/peers/bare-server.mjs'), String(barePort)], { cpu: PROXY_CPU });
  await waitPort(barePort);
  started.set('node-bare', { proc: bare, port: barePort });
  idle['node-bare'] = memoryMB(bare.pid).rss;
  for (const p of [...peers, 'node-bare']) {
    // a fresh process: RSS never shrinks after the load scenarios, which would hide the cost
    if (p !== 'node-bare') {
      await stopProc(started.get(p).proc);
      started.set(p, await PEERS[p].start());
    }
    const running = started.get(p);
    await sleep(1000);
    const before = memoryMB(running.proc.pid).rss;
    const client = spawn('sh', ['-c', `ulimit -n $(ulimit -Hn); exec "${node}" "${path.join(ROOT, 'bench/idle-conns.mjs')}" ${running.port} 10000`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const opened = await new Promise((resolve) => {
      let text = '';
      const t = setTimeout(() => resolve('timeout'), 120_000);
      client.stdout.on('data', (c) => { text += c; if (text.includes('\n')) { clearTimeout(t); resolve(text.trim()); } });
    });
    // let the garbage of opening them be collected: idle connections are what is measured
    await sleep(5000);
    const after = memoryMB(running.proc.pid).rss;
    client.kill('SIGKILL');
    out[p] = { idleMB: idle[p], beforeMB: before, with10kMB: after, addedMB: after - before, client: opened };
    console.log(`memory ${p.padEnd(11)} idle ${idle[p].toFixed(0)} MB; before ${before.toFixed(0)} MB; 10k idle keep-alive connections ${after.toFixed(0)} MB (+${(after - before).toFixed(0)} MB) [${opened}]`);
    await sleep(1500);
  }
  return out;
}

async function clusterScenario() {
  // unpinned: one process vs --workers 2; wrk and the origin compete for the same 2 cores
  const out = {};
  for (const workers of [1, 2]) {
    const running = await PEERS.luaproxy.start({ workers, cpu: null });
    await sleep(workers > 1 ? 1500 : 300);
    const runs = [];
    for (let i = 0; i < ROUNDS; i++) {
      await runWrk({ port: running.port, connections: 50, seconds: WARMUP || 1, cpu: null, args: ['/1k'], threads: 2 });
      runs.push(await measure('luaproxy', running, { connections: 50, args: ['/1k'] }, SECONDS));
    }
    await stopProc(running.proc);
    out[workers] = { rps: median(runs.map((r) => r.rps)), cpuUsPerReq: median(runs.map((r) => r.cpuUsPerReq)), cpuSeconds: median(runs.map((r) => r.cpuSeconds)), seconds: SECONDS };
    console.log(`cluster workers=${workers}: ${out[workers].rps.toFixed(0)} req/s, proxy CPU ${(out[workers].cpuSeconds / SECONDS * 100).toFixed(0)}% of one core, ${out[workers].cpuUsPerReq.toFixed(1)} us/req`);
  }
  return out;
}

// ---------------------------------------------------------------- report
function report(peers, extra) {
  const med = {};
  for (const [s, byPeer] of Object.entries(results)) {
    med[s] = {};
    for (const [p, runs] of Object.entries(byPeer)) {
      med[s][p] = {
        rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)),
        cpuUsPerReq: median(runs.map((r) => r.cpuUsPerReq)), peakMB: Math.max(...runs.map((r) => r.peakMB)),
        errors: runs.reduce((a, r) => a + r.errors + r.non2xx, 0), runs: runs.length,
      };
    }
  }
  const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  let md = `# luaproxy bench run ${meta.date}\n\n- machine: ${meta.cpus}, ${meta.memGB} GB RAM, Node ${meta.node}, ${meta.nginx.trim()}\n- ${meta.pinning}\n- load average at start: ${meta.loadavgAtStart}\n- command: \`${meta.command}\` (${ROUNDS} rounds x ${SECONDS}s, medians)\n\n`;
  for (const [s, byPeer] of Object.entries(med)) {
    md += `## ${s}: ${SCENARIOS[s].about}\n\n| proxy | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB | errors | luaproxy req/s ratio | luaproxy CPU/req ratio |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n`;
    // the ratios are luaproxy's figure over the peer's; in the tls-* scenarios, luaproxy-tls's
    const self = TLS_SCENARIOS.includes(s) ? 'luaproxy-tls' : 'luaproxy';
    const lp = byPeer[self];
    for (const p of peers) {
      const m = byPeer[p];
      if (!m) continue;
      md += `| ${p} | ${f(m.rps)} | ${f(m.p50, 2)} | ${f(m.p99, 2)} | ${f(m.cpuUsPerReq, 1)} | ${f(m.peakMB)} | ${m.errors} | ${lp && p !== self ? f(lp.rps / m.rps, 2) : ''} | ${lp && p !== self && p !== 'direct' ? f(lp.cpuUsPerReq / m.cpuUsPerReq, 2) : ''} |\n`;
    }
    // HTTPS peers run interleaved, so each round gives a ratio of its own
    const own = results[s][self], ng = results[s]['nginx-tls'];
    if (TLS_SCENARIOS.includes(s) && own && ng) md += `\nluaproxy-tls ÷ nginx-tls CPU per request, by round: ${own.map((r, i) => (ng[i] ? f(r.cpuUsPerReq / ng[i].cpuUsPerReq, 2) : '–')).join(', ')}\n`;
    md += '\n';
  }
  md += `## Idle RSS right after start (MB)\n\n${peers.filter((p) => idle[p] !== undefined).map((p) => `- ${p}: ${f(idle[p])}`).join('\n')}\n\n`;
  if (extra.memory) md += `## 10,000 idle keep-alive client connections\n\n| proxy | RSS before MB | RSS with 10k MB | added MB |\n|---|--:|--:|--:|\n${Object.entries(extra.memory).map(([p, m]) => `| ${p} | ${f(m.beforeMB)} | ${f(m.with10kMB)} | ${f(m.addedMB)} |`).join('\n')}\n\n`;
  if (extra.cluster) md += `## Cluster (unpinned, wrk -t2 on the same 2 cores)\n\n| workers | req/s | proxy CPU µs/req | proxy CPU use |\n|---|--:|--:|--:|\n${Object.entries(extra.cluster).map(([w, c]) => `| ${w} | ${f(c.rps)} | ${f(c.cpuUsPerReq, 1)} | ${f((c.cpuSeconds / c.seconds) * 100)}% |`).join('\n')}\n\n`;
  md += targets(med, extra);
  fs.mkdirSync(OUT, { recursive: true });
  const stamp = meta.date.replace(/[:.]/g, '-');
  fs.writeFileSync(path.join(OUT, `${stamp}.md`), md);
  fs.writeFileSync(path.join(OUT, `${stamp}.json`), JSON.stringify({ meta, medians: med, runs: results, idle, extra }, (k, v) => (k === 'raw' ? undefined : v), 2));
  console.log('\n' + md);
  console.log(`written to ${path.join(OUT, stamp)}.{md,json}`);
}

function targets(med, extra) {
  const rows = [];
  const add = (what, value, ok) => rows.push(`| ${what} | ${value} | ${ok === null ? 'n/a' : ok ? 'met' : '**missed**'} |`);
  const k = med['1k-c50'];
  if (k?.luaproxy) {
    const node = ['undici-min', 'http-proxy', 'fastify'].filter((p) => k[p]);
    const best = node.sort((a, b) => k[b].rps - k[a].rps)[0];
    if (best) add(`1 KiB c50 req/s ≥ 2× fastest Node peer (${best})`, `${(k.luaproxy.rps / k[best].rps).toFixed(2)}×`, k.luaproxy.rps >= 2 * k[best].rps);
    if (k.nginx) add('1 KiB c50 req/s ≥ 0.5× nginx', `${(k.luaproxy.rps / k.nginx.rps).toFixed(2)}×`, k.luaproxy.rps >= 0.5 * k.nginx.rps);
    if (k.nginx) add('CPU time per request ≤ 2× nginx', `${(k.luaproxy.cpuUsPerReq / k.nginx.cpuUsPerReq).toFixed(2)}×`, k.luaproxy.cpuUsPerReq <= 2 * k.nginx.cpuUsPerReq);
    // req/s is capped by wrk and the origin on the other core; CPU per request is what the proxy itself spends
    const leanest = node.slice().sort((a, b) => k[a].cpuUsPerReq - k[b].cpuUsPerReq)[0];
    if (leanest) add(`(context) CPU per request of the leanest Node peer (${leanest}) ÷ luaproxy's`, `${(k[leanest].cpuUsPerReq / k.luaproxy.cpuUsPerReq).toFixed(2)}×`, null);
    if (best) add(`p99 at c50 ≤ fastest Node peer's (${best})`, `${k.luaproxy.p99.toFixed(2)} vs ${k[best].p99.toFixed(2)} ms`, k.luaproxy.p99 <= k[best].p99);
  }
  // issue #15: HTTPS against nginx with the same certificate (CPU per request)
  for (const [s, what, max] of [['tls-1k-c50', 'HTTPS keep-alive 1 KiB', 1.3], ['tls-newconn', 'HTTPS new connection per request', 1.3], ['h2-1k-m10', 'h2, 10 streams per connection', 1.5]]) {
    const t = med[s];
    if (t?.['luaproxy-tls'] && t['nginx-tls']) {
      const ratio = t['luaproxy-tls'].cpuUsPerReq / t['nginx-tls'].cpuUsPerReq;
      add(`${what}: CPU per request ≤ ${max}× nginx's`, `${ratio.toFixed(2)}× (${t['luaproxy-tls'].cpuUsPerReq.toFixed(1)} vs ${t['nginx-tls'].cpuUsPerReq.toFixed(1)} µs)`, ratio <= max);
    }
  }
  const m = med['1m-c50'];
  if (m?.luaproxy && m.nginx) add('1 MiB req/s ≥ 0.9× nginx', `${(m.luaproxy.rps / m.nginx.rps).toFixed(2)}×`, m.luaproxy.rps >= 0.9 * m.nginx.rps);
  if (idle.luaproxy !== undefined) add('idle RSS < 80 MB', `${idle.luaproxy.toFixed(0)} MB`, idle.luaproxy < 80);
  if (extra.memory?.luaproxy) add('10k idle keep-alive connections add < 100 MB', `+${extra.memory.luaproxy.addedMB.toFixed(0)} MB`, extra.memory.luaproxy.addedMB < 100);
  if (extra.cluster?.[1] && extra.cluster[2]) add('--workers 2 ≥ 1.7× one process (see README: load generator shares the cores)', `${(extra.cluster[2].rps / extra.cluster[1].rps).toFixed(2)}×`, extra.cluster[2].rps >= 1.7 * extra.cluster[1].rps);
  return rows.length ? `## Targets\n\n| target | this run | |\n|---|--:|---|\n${rows.join('\n')}\n\nThe Lua-call target (< 3 µs per route()) is measured by \`node bench/micro-route.mjs\`.\n` : '';
}
