/**
 * Slow and idle clients: hundreds of connections that trickle their headers (slowloris),
 * trickle a body, sit idle after a response, or never send a byte. Each must be closed
 * by its timeout (timeouts.client_header / client_request / client_idle), and while
 * they are all connected, ordinary requests must still be answered promptly.
 */
import { describe, it, expect, afterAll } from 'vitest';
import net from 'node:net';
import http from 'node:http';
import { spawnProxy, type ProxyProcess } from './lib/proxy-process.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { figure, atMost } from './lib/report.js';
import { pick, sleep } from './lib/mode.js';

const S = 'slow-clients';
const EACH = pick(60, 200);
const T = { client_header: 3, client_request: 6, client_idle: 3 };
/** a timeout may fire this much late (timer granularity, a busy 2-core machine) */
const SLACK_S = 3;
/** "promptly": liveness bounds for ordinary requests, not performance targets (the machine is shared) */
const PROMPT_MS = 1000;
const WORST_MS = 5000;

type Kind = 'slowloris headers' | 'stalled head' | 'slowloris 2nd request' | 'slow body' | 'stalled body' | 'idle keep-alive' | 'silent connection';
interface Slow { kind: Kind; openedAt: number; closedAt: number; reply: string }

function slowClient(port: number, kind: Kind): Promise<Slow> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const r: Slow = { kind, openedAt: Date.now(), closedAt: 0, reply: '' };
    let tick: NodeJS.Timeout | null = null;
    s.on('connect', () => {
      r.openedAt = Date.now();
      if (kind === 'slowloris headers') {
        s.write('GET /slow HTTP/1.1\r\nHost: slow.example\r\n');
        tick = setInterval(() => s.write(`X-Slow-${Date.now() % 1000}: a\r\n`), 500);
      } else if (kind === 'stalled head') {
        s.write('GET /slow HTTP/1.1\r\nHost: slow');
      } else if (kind === 'slowloris 2nd request') {
        s.write('GET /status/204 HTTP/1.1\r\nHost: idle.example\r\n\r\n');
        s.once('data', () => {
          r.openedAt = Date.now();
          s.write('GET /slow HTTP/1.1\r\nHost: slow.example\r\n');
          tick = setInterval(() => s.write(`X-Slow-${Date.now() % 1000}: a\r\n`), 500);
        });
      } else if (kind === 'stalled body') {
        s.write('POST /echo HTTP/1.1\r\nHost: slow.example\r\nContent-Length: 100000\r\n\r\nxxxxxxxxxx');
      } else if (kind === 'slow body') {
        s.write('POST /echo HTTP/1.1\r\nHost: slow.example\r\nContent-Length: 100000\r\n\r\n');
        tick = setInterval(() => s.write('x'.repeat(10)), 500);
      } else if (kind === 'idle keep-alive') {
        s.write('GET /status/204 HTTP/1.1\r\nHost: idle.example\r\n\r\n');
      }
    });
    s.on('data', (c) => {
      if (kind === 'idle keep-alive' && r.reply === '') r.openedAt = Date.now(); // idle from the end of the response
      r.reply += c.toString('latin1');
    });
    const done = () => {
      if (tick) clearInterval(tick);
      if (!r.closedAt) r.closedAt = Date.now();
      resolve(r);
    };
    s.on('close', done);
    s.on('error', () => s.destroy());
    s.setTimeout(60_000, () => s.destroy());
  });
}

function timedGet(port: number, i: number): Promise<{ ms: number; status: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host: `normal${i % 50}.example` }, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0 }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ ms: performance.now() - t0, status: 0 }));
  });
}

describe('slow and idle clients are timed out while ordinary requests are served promptly', () => {
  let proxy: ProxyProcess | null = null;
  let backend: TestBackend | null = null;
  afterAll(async () => { await proxy?.stop(); await backend?.close(); });

  it(`${EACH} each of seven kinds of slow or idle client`, async () => {
    backend = await startBackend('app');
    proxy = await spawnProxy(`backends = { "${backend.url}" }
timeouts = { client_header = ${T.client_header}, client_request = ${T.client_request}, client_idle = ${T.client_idle} }
function route(h, p) return proxy.hash(h) end
`);
    const base = proxy.stats();
    const kinds: Kind[] = ['slowloris headers', 'stalled head', 'slowloris 2nd request', 'slow body', 'stalled body', 'idle keep-alive', 'silent connection'];
    const slow: Array<Promise<Slow>> = [];
    for (let i = 0; i < EACH; i++) for (const k of kinds) slow.push(slowClient(proxy.port, k));
    await sleep(1000);
    const peak = proxy.stats();
    figure(S, 'slow connections open at once', peak.sockets - base.sockets, 'sockets in the proxy');
    // ordinary requests while the slow ones hold their connections
    const lat: number[] = [];
    let failed = 0;
    const until = Date.now() + (T.client_request + SLACK_S) * 1000;
    for (let i = 0; Date.now() < until && i < 2000; i++) {
      const r = await timedGet(proxy.port, i);
      lat.push(r.ms);
      if (r.status !== 200) failed++;
      await sleep(20);
    }
    lat.sort((a, b) => a - b);
    figure(S, 'ordinary requests during the attack', lat.length);
    figure(S, 'their median latency', lat[Math.floor(lat.length / 2)], 'ms');
    const p99 = lat[Math.floor(lat.length * 0.99)];
    atMost(S, 'their 99th percentile latency', Math.round(p99), PROMPT_MS, 'ms');
    atMost(S, 'their worst latency', Math.round(lat[lat.length - 1]), WORST_MS, 'ms');
    atMost(S, 'ordinary requests failed', failed, 0);
    const all = await Promise.all(slow);
    const bounds: Record<Kind, number> = {
      'slowloris headers': T.client_header,
      'stalled head': T.client_header,
      'slowloris 2nd request': T.client_header,
      'stalled body': T.client_request,
      'slow body': T.client_request,
      'idle keep-alive': T.client_idle,
      'silent connection': T.client_header,
    };
    const late: string[] = [];
    for (const k of kinds) {
      const mine = all.filter((r) => r.kind === k);
      const worst = Math.max(...mine.map((r) => (r.closedAt - r.openedAt) / 1000));
      const statuses = [...new Set(mine.map((r) => /^HTTP\/1\.1 (\d+)/.exec(r.reply.split('\r\n\r\n').at(-2) !== undefined ? r.reply.slice(r.reply.lastIndexOf('HTTP/1.1')) : r.reply)?.[1] ?? 'none'))].join(',');
      atMost(S, `${k}: closed after at most (timeout ${bounds[k]} s)`, Math.round(worst * 10) / 10, bounds[k] + SLACK_S, `s; last status ${statuses}`);
      if (worst > bounds[k] + SLACK_S) late.push(`${k}: ${worst.toFixed(1)} s`);
    }
    expect(p99).toBeLessThan(PROMPT_MS);
    expect(lat[lat.length - 1]).toBeLessThan(WORST_MS);
    expect(failed).toBe(0);
    expect(late).toEqual([]);
    await sleep(1000);
    const after = proxy.stats();
    atMost(S, 'proxy sockets left open afterwards (vs before)', after.sockets - base.sockets, 2);
    expect(after.sockets - base.sockets).toBeLessThanOrEqual(2);
    expect(proxy.exited).toBeNull();
  });
});
