/**
 * Slow readers: many clients read a multi-megabyte response at a few KiB/s while the
 * backend could send it at once. Every byte must arrive (sha256), and the proxy must
 * hold only a small, bounded amount per connection: the rest waits in the backend,
 * because the proxy pauses the backend leg while the client's socket is full.
 *
 * The buffering is measured, not guessed: bytes the backend wrote minus bytes the
 * clients read, minus what sits in the kernel queues of all four socket ends
 * (/proc/net/tcp) and in the backend's and the clients' own stream buffers, is what
 * the proxy process holds itself.
 */
import { describe, it, expect, afterAll } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { spawnProxy, type ProxyProcess } from './lib/proxy-process.js';
import { figure, atMost, KiB, MiB } from './lib/report.js';
import { pick, sleep } from './lib/mode.js';
import { queues } from './lib/tcp.js';

const S = 'slow-readers';
const CLIENTS = pick(12, 40);
const SIZE = pick(32, 64) * MiB;
const SLOW_MS = pick(15_000, 45_000);
/** per-client read rates in bytes/s: "a few KiB/s" */
const RATES = [2 * KiB, 4 * KiB, 8 * KiB];
/** the proxy may hold this much of a response per connection (see docs/reliability.md) */
const PER_CONN_BOUND = 256 * KiB;

describe('slow readers get every byte while the proxy buffers a bounded amount', () => {
  let proxy: ProxyProcess | null = null;
  let backend: http.Server | null = null;
  afterAll(async () => {
    await proxy?.stop();
    backend?.closeAllConnections();
    await new Promise((r) => backend ? backend.close(r) : r(null));
  });

  it(`${CLIENTS} clients read ${SIZE / MiB} MiB each at 2-8 KiB/s, then at full speed`, async () => {
    const body = crypto.randomBytes(SIZE);
    const sum = crypto.createHash('sha256').update(body).digest('hex');
    let written = 0;
    const responses = new Set<http.ServerResponse>();
    backend = http.createServer((req, res) => {
      responses.add(res);
      res.on('close', () => responses.delete(res));
      res.writeHead(200, { 'content-length': SIZE });
      let at = 0;
      const pump = () => {
        while (at < SIZE) {
          const c = body.subarray(at, at + 64 * KiB);
          at += c.length;
          written += c.length;
          if (!res.write(c)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((r) => backend!.listen(0, '127.0.0.1', r));
    const bport = (backend.address() as AddressInfo).port;
    proxy = await spawnProxy(`backends = { "http://127.0.0.1:${bport}" }\nfunction route(h, p) return proxy.hash(h) end\n`);
    // warm up (JIT, pools, buffers) with two full-speed reads, so the baseline is not a cold process
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => {
        http.get({ port: proxy!.port, host: '127.0.0.1', path: '/warm', headers: { host: 'warm.example' }, agent: false }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', reject);
      });
    }
    await sleep(500);
    written = 0;
    const base = proxy.stats();
    figure(S, 'proxy RSS before the slow readers (warm)', base.rss / MiB, 'MiB');

    let fast = false;
    let consumed = 0;
    const sockets: net.Socket[] = [];
    const results = await (async () => {
      const clients = Array.from({ length: CLIENTS }, (_, i) => new Promise<{ ok: boolean; bytes: number; why: string }>((resolve) => {
        const rate = RATES[i % RATES.length];
        const s = net.connect(proxy!.port, '127.0.0.1');
        sockets.push(s);
        s.write(`GET /file/${i} HTTP/1.1\r\nHost: reader${i}.example\r\n\r\n`);
        const hash = crypto.createHash('sha256');
        let head = Buffer.alloc(0);
        let inBody = false;
        let got = 0;
        let length = -1;
        const take = (c: Buffer) => {
          consumed += c.length;
          if (!inBody) {
            head = Buffer.concat([head, c]);
            const e = head.indexOf('\r\n\r\n');
            if (e < 0) return;
            length = Number(/content-length: (\d+)/i.exec(head.subarray(0, e).toString())?.[1] ?? -1);
            inBody = true;
            c = head.subarray(e + 4);
          }
          got += c.length;
          hash.update(c);
          if (got >= length) {
            s.destroy();
            const digest = hash.digest('hex');
            resolve({ ok: got === SIZE && digest === sum, bytes: got, why: `got ${got} bytes, sha256 ${digest === sum ? 'matches' : 'DIFFERS'}` });
          }
        };
        s.on('error', (e) => resolve({ ok: false, bytes: got, why: e.message }));
        s.on('close', () => resolve({ ok: false, bytes: got, why: `closed after ${got} bytes` }));
        // slow phase: read rate/10 bytes every 100 ms from the stream's buffer
        const tick = setInterval(() => {
          if (fast) {
            clearInterval(tick);
            let c: Buffer | null;
            while ((c = s.read()) !== null) take(c);
            s.on('data', take);
            return;
          }
          const n = Math.min(rate / 10, s.readableLength);
          if (n > 0) { const c = s.read(n); if (c) take(c); }
        }, 100);
      }));

      await sleep(SLOW_MS);
      // steady state of the slow phase: where are the bytes the backend wrote?
      const st = proxy!.stats();
      const q = queues(proxy!.port, bport);
      let backendUser = 0;
      for (const r of responses) backendUser += r.writableLength + (r.socket?.writableLength ?? 0);
      let clientUser = 0;
      for (const s of sockets) clientUser += s.readableLength;
      const inFlight = written - consumed;
      const proxyHeld = inFlight - backendUser - q.backendTx - q.proxyUpRx - q.proxyDownTx - q.clientRx - clientUser;
      figure(S, 'response bytes the backend wrote after the slow phase', written / CLIENTS / KiB, 'KiB per client (of ' + SIZE / KiB + ')');
      figure(S, 'bytes between backend and client apps', inFlight / CLIENTS / KiB, 'KiB per connection');
      const k = (n: number) => Math.round(n / CLIENTS / KiB);
      figure(S, 'of which in kernel socket queues', k(q.backendTx + q.proxyUpRx + q.proxyDownTx + q.clientRx), `KiB per connection (backend send ${k(q.backendTx)}, proxy receive ${k(q.proxyUpRx)}, proxy send ${k(q.proxyDownTx)}, client receive ${k(q.clientRx)})`);
      figure(S, 'in the backend and client stream buffers', k(backendUser + clientUser), 'KiB per connection');
      figure(S, 'proxy RSS growth with all slow readers connected', (st.rss - base.rss) / MiB, `MiB (${Math.round((st.rss - base.rss) / CLIENTS / KiB)} KiB per connection)`);
      atMost(S, 'held inside the proxy process (measured)', Math.round(proxyHeld / CLIENTS / KiB), PER_CONN_BOUND / KiB, 'KiB per connection');
      expect(proxyHeld / CLIENTS).toBeLessThanOrEqual(PER_CONN_BOUND);
      // the backend is held back: far less than the whole response left it
      expect(written / CLIENTS).toBeLessThan(SIZE / 2);
      expect(st.rss - base.rss).toBeLessThan(CLIENTS * (PER_CONN_BOUND + 512 * KiB) + 64 * MiB);
      fast = true;
      return Promise.all(clients);
    })();

    const bad = results.filter((r) => !r.ok);
    const verified = results.reduce((a, r) => a + (r.ok ? r.bytes : 0), 0);
    const end = proxy.stats();
    figure(S, 'bytes verified by sha256', verified / MiB, 'MiB');
    figure(S, 'proxy peak RSS (VmHWM)', end.hwm / MiB, 'MiB');
    atMost(S, 'clients with missing or wrong bytes', bad.length, 0);
    expect(bad.map((b) => b.why)).toEqual([]);
    expect(proxy.exited).toBeNull();
  });
});
