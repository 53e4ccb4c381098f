/**
 * Debian's slowhttptest against the proxy: slowloris headers (-H), slow POST bodies (-B)
 * and slow reads with a tiny receive window (-X). Its own probe, and ours (an ordinary
 * request every 50 ms), must keep getting answers throughout. Skipped, with a message,
 * when slowhttptest is not installed (`apt-get install -y slowhttptest`).
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawnProxy, type ProxyProcess } from './lib/proxy-process.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { figure, atMost } from './lib/report.js';
import { pick, sleep } from './lib/mode.js';

const S = 'slowhttptest';
const have = spawnSync('sh', ['-c', 'command -v slowhttptest']).status === 0;
if (!have) console.log('[slowhttptest] SKIPPED: slowhttptest is not installed (apt-get install -y slowhttptest); the node-based slow-clients scenario still runs');
const SECONDS = pick(15, 45);
const CONNS = pick(300, 1000);
/** liveness bounds, not performance targets: on a shared 2-core machine one probe can stall for a second or two while the proxy is descheduled */
const PROMPT_MS = 1000;
const WORST_MS = 5000;

const MODES: Array<{ name: string; args: (url: string) => string[]; path: string }> = [
  { name: 'slowloris headers (-H)', path: '/', args: (u) => ['-H', '-i', '2', '-u', u] },
  { name: 'slow POST bodies (-B)', path: '/echo', args: (u) => ['-B', '-i', '2', '-s', '8192', '-u', u] },
  { name: 'slow read, tiny window (-X)', path: '/big?bytes=4000000', args: (u) => ['-X', '-k', '2', '-n', '2', '-w', '64', '-y', '128', '-z', '32', '-u', u] },
];

/** user + system CPU seconds of a process */
function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function probe(port: number, direct = false): Promise<{ ms: number; ok: boolean }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host: direct ? '127.0.0.1' : 'probe.example' }, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - t0, ok: res.statusCode === 200 }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ ms: performance.now() - t0, ok: false }));
  });
}

describe.skipIf(!have)('slowhttptest attacks do not take the service down', () => {
  let proxy: ProxyProcess | null = null;
  let backend: TestBackend | null = null;
  afterAll(async () => { await proxy?.stop(); await backend?.close(); });

  for (const mode of MODES) {
    it(`${mode.name}: ${CONNS} connections for ${SECONDS} s`, async () => {
      // /big is served from one prebuilt buffer: the backend must not be the bottleneck
      const big = Buffer.alloc(4_000_000, 'x');
      backend ??= await startBackend('app', (req, res) => {
        if (req.url?.startsWith('/big')) { res.writeHead(200, { 'content-length': big.length }); res.end(big); return; }
        req.resume();
        req.on('end', () => res.end('ok'));
      });
      proxy ??= await spawnProxy(`backends = { "${backend.url}" }
timeouts = { client_header = 5, client_request = 10, client_idle = 5 }
log = { access = false }
function route(h, p) return proxy.hash(h) end
`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-sht-'));
      const out = path.join(dir, 'run');
      const child = spawn('slowhttptest', ['-c', String(CONNS), '-r', '200', '-l', String(SECONDS), '-p', '3', '-g', '-o', out, ...mode.args(`${proxy.url}${mode.path}`)], { stdio: 'ignore' });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const lat: number[] = [];
      const ctl: number[] = [];
      let failed = 0;
      let stop = false;
      const probing = (async () => {
        await sleep(2000);
        while (!stop && lat.length < 5000) {
          const r = await probe(proxy!.port);
          lat.push(r.ms);
          if (!r.ok) failed++;
          ctl.push((await probe(backend!.port, true)).ms);
          await sleep(50);
        }
      })();
      let peakSockets = 0;
      const cpu0 = cpuSeconds(proxy.pid);
      const sampler = setInterval(() => { try { peakSockets = Math.max(peakSockets, proxy!.stats().sockets); } catch { /* exited */ } }, 500);
      const killer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 30) * 1000);
      await exited;
      clearTimeout(killer);
      clearInterval(sampler);
      stop = true;
      await probing;
      const csv = fs.existsSync(`${out}.csv`) ? fs.readFileSync(`${out}.csv`, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number)) : [];
      fs.rmSync(dir, { recursive: true, force: true });
      const maxConnected = Math.max(0, ...csv.map((r) => r[3]));
      const unavailable = csv.filter((r) => r[4] === 0).length;
      lat.sort((a, b) => a - b);
      figure(S, `${mode.name}: most attack connections open at once`, maxConnected);
      figure(S, `${mode.name}: peak proxy sockets`, peakSockets);
      figure(S, `${mode.name}: proxy CPU time during the attack`, Math.round((cpuSeconds(proxy.pid) - cpu0) * 10) / 10, 's');
      atMost(S, `${mode.name}: seconds slowhttptest saw the service unavailable`, unavailable, 0, `s of ${csv.length}`);
      figure(S, `${mode.name}: our probe requests`, lat.length);
      figure(S, `${mode.name}: control probe straight to the backend, worst latency`, Math.round(Math.max(0, ...ctl)), 'ms');
      const p99 = lat[Math.floor(lat.length * 0.99)] ?? 0;
      atMost(S, `${mode.name}: our probe's 99th percentile latency`, Math.round(p99), PROMPT_MS, 'ms');
      atMost(S, `${mode.name}: our probe's worst latency`, Math.round(lat[lat.length - 1] ?? 0), WORST_MS, 'ms');
      atMost(S, `${mode.name}: our probe's failures`, failed, 0);
      expect(csv.length).toBeGreaterThan(0);
      expect(failed).toBe(0);
      expect(p99).toBeLessThan(PROMPT_MS);
      expect(lat[lat.length - 1]).toBeLessThan(WORST_MS);
      expect(unavailable).toBe(0);
      expect(proxy.exited).toBeNull();
    });
  }
});
