/**
 * Scripts that misbehave at run time, under load: route() loops forever, loops through
 * pcall, raises errors, runs a pathological pattern match or allocates without end, for
 * a share of the requests mixed into ordinary traffic. Exactly those requests get 500,
 * every other one gets its backend's answer, and the proxy's memory stays bounded.
 */
import { describe, it, expect, afterAll } from 'vitest';
import http from 'node:http';
import { spawnProxy, type ProxyProcess } from './lib/proxy-process.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { figure, atMost, MiB } from './lib/report.js';
import { pick } from './lib/mode.js';

const S = 'scripts-under-load';
const TOTAL = pick(600, 3000);
const CONCURRENCY = pick(8, 16);
const BAD = ['/loop', '/pcall-loop', '/error', '/pattern', '/alloc'];

describe('misbehaving route() calls fail alone under load', () => {
  let proxy: ProxyProcess | null = null;
  let backend: TestBackend | null = null;
  afterAll(async () => { await proxy?.stop(); await backend?.close(); });

  it(`${TOTAL} requests, one in five misbehaving, ${CONCURRENCY} at a time`, async () => {
    backend = await startBackend('app');
    proxy = await spawnProxy(`backends = { "${backend.url}" }
log = { access = false }
function route(host, path)
  if path == "/loop" then while true do end end
  if path == "/pcall-loop" then while true do pcall(function() while true do end end) end end
  if path == "/error" then error("boom") end
  if path == "/pattern" then return string.find(string.rep("a", 400), ".-.-.-.-.-.-.-.-.-.-b") end
  if path == "/alloc" then local t = {} while true do t[#t + 1] = string.rep("x", 4096) .. #t end end
  return proxy.hash(host)
end
`);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const results: Array<{ bad: boolean; status: number; code: string; ms: number }> = [];
    let next = 0;
    const one = (i: number) => new Promise<void>((resolve) => {
      const bad = i % 5 === 4;
      const path = bad ? BAD[(i / 5 | 0) % BAD.length] : `/good/${i}`;
      const t0 = performance.now();
      const req = http.get({ host: '127.0.0.1', port: proxy!.port, path, headers: { host: `h${i % 97}.example` }, agent, timeout: 20_000 }, (res) => {
        res.resume();
        res.on('end', () => { results.push({ bad, status: res.statusCode ?? 0, code: String(res.headers['x-luaproxy-error'] ?? ''), ms: performance.now() - t0 }); resolve(); });
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => { results.push({ bad, status: 0, code: 'client error', ms: performance.now() - t0 }); resolve(); });
    });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (next < TOTAL) await one(next++); }));
    const secs = (Date.now() - t0) / 1000;
    agent.destroy();
    const badWrong = results.filter((r) => r.bad && !(r.status === 500 && /^LPX_ROUTE_/.test(r.code)));
    const goodWrong = results.filter((r) => !r.bad && r.status !== 200);
    const goodMs = results.filter((r) => !r.bad).map((r) => r.ms).sort((a, b) => a - b);
    const st = proxy.stats();
    figure(S, 'requests', results.length, `in ${secs.toFixed(1)} s`);
    figure(S, 'misbehaving requests answered 500', results.filter((r) => r.bad && r.status === 500).length, `of ${results.filter((r) => r.bad).length}`);
    atMost(S, 'misbehaving requests with another answer', badWrong.length, 0);
    atMost(S, 'good requests that failed', goodWrong.length, 0);
    figure(S, 'good requests, median latency (each bad call may hold the loop up to script.time)', goodMs[goodMs.length >> 1], 'ms');
    atMost(S, 'good requests, worst latency (liveness)', Math.round(goodMs[goodMs.length - 1]), 5000, 'ms');
    atMost(S, 'proxy peak RSS (VmHWM)', Math.round(st.hwm / MiB), 512, 'MiB');
    expect(results).toHaveLength(TOTAL);
    expect(badWrong.map((r) => `${r.status} ${r.code}`)).toEqual([]);
    expect(goodWrong.map((r) => `${r.status} ${r.code}`)).toEqual([]);
    expect(goodMs[goodMs.length - 1]).toBeLessThan(5000);
    expect(st.hwm).toBeLessThan(512 * MiB);
    expect(proxy.exited).toBeNull();
  });
});
