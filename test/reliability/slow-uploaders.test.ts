/**
 * Slow uploads, both ways round: clients that send a multi-megabyte body at a few KiB/s
 * (every byte must reach the backend, checked by sha256), and fast clients uploading to
 * a backend that reads at a few KiB/s (the proxy must pass the backpressure on to the
 * client instead of buffering the body). Buffering is measured as in slow-readers.
 */
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { spawnProxy, type ProxyProcess } from './lib/proxy-process.js';
import { figure, atMost, KiB, MiB } from './lib/report.js';
import { pick, sleep } from './lib/mode.js';
import { queues } from './lib/tcp.js';

const S = 'slow-uploaders';
const CLIENTS = pick(10, 30);
const SIZE = pick(32, 64) * MiB;
const SLOW_MS = pick(12_000, 40_000);
const RATES = [2 * KiB, 4 * KiB, 8 * KiB];
const PER_CONN_BOUND = 256 * KiB;

interface Upload { ok: boolean; bytes: number; why: string }

/** a backend that hashes each body; `gate` decides how fast it reads (slow: rate/10 bytes per 100 ms) */
async function hashingBackend(state: { slowRead: boolean; received: number; reqs: Set<http.IncomingMessage> }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    state.reqs.add(req);
    const h = crypto.createHash('sha256');
    let n = 0;
    const take = (c: Buffer) => { n += c.length; state.received += c.length; h.update(c); };
    const tick = setInterval(() => {
      if (!state.slowRead) {
        clearInterval(tick);
        let c: Buffer | null;
        while ((c = req.read()) !== null) take(c);
        req.on('data', take);
        return;
      }
      const want = Math.min(4 * KiB / 10 * 2, req.readableLength);
      if (want > 0) { const c = req.read(want); if (c) take(c); }
    }, 100);
    req.on('end', () => {
      clearInterval(tick);
      state.reqs.delete(req);
      res.end(JSON.stringify({ bytes: n, sha256: h.digest('hex') }));
    });
    req.on('error', () => clearInterval(tick));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** one upload on a raw socket; `rate()` returns bytes per 100 ms, or 0 for as fast as the socket takes */
function upload(port: number, body: Buffer, i: number, rate: () => number, sent: { n: number; sockets: net.Socket[] }): Promise<Upload> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    sent.sockets.push(s);
    s.write(`POST /upload/${i} HTTP/1.1\r\nHost: up${i}.example\r\nContent-Length: ${body.length}\r\n\r\n`);
    let at = 0;
    let reply = '';
    const pump = () => {
      for (;;) {
        if (at >= body.length) return;
        const r = rate();
        if (r > 0) {
          const c = body.subarray(at, at + r);
          at += c.length;
          s.write(c);
          return void setTimeout(pump, 100);
        }
        const c = body.subarray(at, at + 64 * KiB);
        at += c.length;
        if (!s.write(c)) return void s.once('drain', pump);
      }
    };
    pump();
    s.on('data', (c) => { reply += c; });
    s.on('error', (e) => resolve({ ok: false, bytes: at, why: e.message }));
    s.on('close', () => {
      const json = reply.slice(reply.indexOf('\r\n\r\n') + 4);
      resolve({ ok: /^HTTP\/1\.1 200/.test(reply), bytes: at, why: `${reply.split('\r\n')[0]} ${json}` });
    });
    const bytesSent = () => at - s.writableLength;
    (s as unknown as { bytesSent: () => number }).bytesSent = bytesSent;
    s.on('data', () => { if (reply.includes('}')) s.end(); });
  });
}

describe('slow uploads arrive whole and the proxy buffers a bounded amount of them', () => {
  let proxy: ProxyProcess | null = null;
  let backend: http.Server | null = null;
  afterEach(async () => {
    await proxy?.stop();
    backend?.closeAllConnections();
    await new Promise((r) => (backend ? backend.close(r) : r(null)));
    proxy = null;
    backend = null;
  });

  async function setup(state: { slowRead: boolean; received: number; reqs: Set<http.IncomingMessage> }) {
    backend = await hashingBackend(state);
    const bport = (backend.address() as AddressInfo).port;
    proxy = await spawnProxy(`backends = { "http://127.0.0.1:${bport}" }\nfunction route(h, p) return proxy.hash(h) end\n`);
    return bport;
  }

  it(`${CLIENTS} clients upload ${SIZE / MiB} MiB at 2-8 KiB/s, then at full speed; the backend gets every byte`, async () => {
    const state = { slowRead: false, received: 0, reqs: new Set<http.IncomingMessage>() };
    await setup(state);
    const body = crypto.randomBytes(SIZE);
    const sum = crypto.createHash('sha256').update(body).digest('hex');
    let fast = false;
    const sent = { n: 0, sockets: [] as net.Socket[] };
    const all = Array.from({ length: CLIENTS }, (_, i) => upload(proxy!.port, body, i, () => (fast ? 0 : RATES[i % 3] / 10), sent));
    await sleep(SLOW_MS);
    figure(S, 'slow-phase bytes received by the backend', state.received / CLIENTS / KiB, 'KiB per client');
    fast = true;
    const results = await Promise.all(all);
    const good = results.filter((r) => r.ok && r.why.includes(`"bytes":${SIZE}`) && r.why.includes(sum));
    figure(S, 'upload bytes verified by sha256 at the backend', (good.length * SIZE) / MiB, 'MiB');
    atMost(S, 'slow uploads with missing or wrong bytes', CLIENTS - good.length, 0);
    expect(results.filter((r) => !good.includes(r)).map((r) => r.why)).toEqual([]);
    expect(proxy!.exited).toBeNull();
  });

  it(`${CLIENTS} clients upload ${SIZE / MiB} MiB at full speed to a backend reading 8 KiB/s: the proxy holds a bounded amount`, async () => {
    const state = { slowRead: false, received: 0, reqs: new Set<http.IncomingMessage>() };
    const bport = await setup(state);
    const body = crypto.randomBytes(SIZE);
    const sum = crypto.createHash('sha256').update(body).digest('hex');
    // warm up (JIT, pools, buffers) with two full-speed uploads, so the baseline is not a cold process
    for (let i = 0; i < 2; i++) await upload(proxy!.port, body, 1000 + i, () => 0, { n: 0, sockets: [] });
    await sleep(500);
    state.received = 0;
    state.slowRead = true;
    const base = proxy!.stats();
    const sent = { n: 0, sockets: [] as net.Socket[] };
    const all = Array.from({ length: CLIENTS }, (_, i) => upload(proxy!.port, body, i, () => 0, sent));
    await sleep(SLOW_MS);
    const st = proxy!.stats();
    const q = queues(proxy!.port, bport);
    let clientSent = 0;
    for (const s of sent.sockets) clientSent += (s as unknown as { bytesSent: () => number }).bytesSent();
    let backendUser = 0;
    for (const r of state.reqs) backendUser += r.readableLength + (r.socket?.readableLength ?? 0);
    const inFlight = clientSent - state.received;
    const kernel = q.proxyDownRx + q.clientTx + q.proxyUpTx + q.backendRx;
    const held = inFlight - kernel - backendUser;
    const k = (n: number) => Math.round(n / CLIENTS / KiB);
    figure(S, 'upload bytes the clients got into the kernel during the slow phase', k(clientSent), `KiB per client (of ${SIZE / KiB})`);
    figure(S, 'of which in kernel socket queues', k(kernel), `KiB per connection (client send ${k(q.clientTx)}, proxy receive ${k(q.proxyDownRx)}, proxy send ${k(q.proxyUpTx)}, backend receive ${k(q.backendRx)})`);
    figure(S, 'proxy RSS growth with all uploads stalled', (st.rss - base.rss) / MiB, `MiB (${k(st.rss - base.rss)} KiB per connection)`);
    atMost(S, 'upload bytes held inside the proxy process (measured)', k(held), PER_CONN_BOUND / KiB, 'KiB per connection');
    expect(held / CLIENTS).toBeLessThanOrEqual(PER_CONN_BOUND);
    expect(clientSent / CLIENTS).toBeLessThan(SIZE / 2);
    expect(st.rss - base.rss).toBeLessThan(CLIENTS * (PER_CONN_BOUND + 512 * KiB) + 64 * MiB);
    state.slowRead = false;
    const results = await Promise.all(all);
    const good = results.filter((r) => r.ok && r.why.includes(sum));
    figure(S, 'fast-upload bytes verified by sha256 at the backend', (good.length * SIZE) / MiB, 'MiB');
    atMost(S, 'fast uploads with missing or wrong bytes', CLIENTS - good.length, 0);
    expect(results.filter((r) => !good.includes(r)).map((r) => r.why)).toEqual([]);
    figure(S, 'proxy peak RSS (VmHWM)', proxy!.stats().hwm / MiB, 'MiB');
  });
});
