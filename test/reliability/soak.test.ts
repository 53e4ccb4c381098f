/**
 * Soak: rounds of mixed load (keep-alive clients and a new connection per request, GETs
 * of several sizes and POST uploads), a script reload by rename in every round, and a
 * backend that crashes and restarts in the middle of the run. After each round the load
 * stops and the proxy is left to settle: its resident memory, open file descriptors and
 * sockets must come back to the baseline, with no growth from round to round.
 */
import { describe, it, expect, afterAll } from 'vitest';
import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { spawnProxy, settle, type ProxyProcess, type ProcStats } from './lib/proxy-process.js';
import { figure, atMost, MiB } from './lib/report.js';
import { pick, sleep } from './lib/mode.js';

const S = 'soak';
const ROUNDS = pick(5, 12);
const ROUND_MS = pick(8_000, 20_000);
const KEEPALIVE_WORKERS = pick(6, 10);
const FRESH_WORKERS = pick(3, 5);
const RESTART_ROUND = Math.floor(ROUNDS / 2);

const BODY = crypto.randomBytes(256 * 1024);

class RestartableBackend {
  server: http.Server | null = null;
  port = 0;
  private sockets = new Set<Socket>();
  constructor(readonly name: string) {}
  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      let n = 0;
      req.on('data', (c: Buffer) => { n += c.length; });
      req.on('end', () => {
        if (u.pathname === '/big') {
          const size = Number(u.searchParams.get('bytes'));
          res.writeHead(200, { 'content-length': size, 'x-backend': this.name });
          res.end(BODY.subarray(0, size));
        } else {
          res.writeHead(200, { 'content-type': 'application/json', 'x-backend': this.name });
          res.end(JSON.stringify({ backend: this.name, bytes: n }));
        }
      });
    });
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  /** a crash: every connection dies at once */
  async crash(): Promise<void> {
    const s = this.server!;
    for (const sock of this.sockets) sock.destroy();
    await new Promise((r) => s.close(r));
  }
}

const script = (a: number, b: number, v: number) => `backends = {
  { name = "a", url = "http://127.0.0.1:${a}" },
  { name = "b", url = "http://127.0.0.1:${b}" },
}
timeouts = { backend_idle = 1, client_idle = 2 }
health = { eject_after = 0 }
log = { access = true }
-- version ${v}
function route(host, path)
  if path == "/direct" then return { status = 200, body = "v${v}" } end
  return proxy.hash(host)
end
`;

interface Tally { ok: number; failed: Array<{ at: number; what: string }>; bytes: number }

function request(agent: http.Agent | false, port: number, i: number, tally: Tally): Promise<void> {
  const kind = i % 4;
  const path = kind === 0 ? `/big?bytes=${(i * 7919) % BODY.length}` : kind === 1 ? '/direct' : '/echo';
  const body = kind === 3 ? BODY.subarray(0, 16 * 1024 + (i % 1000)) : null;
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', headers: { host: `site${i % 211}.example`, ...(body ? { 'content-length': body.length } : {}) }, agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        let good = res.statusCode === 200;
        if (good && kind === 0) good = b.equals(BODY.subarray(0, (i * 7919) % BODY.length));
        if (good && kind === 3) good = JSON.parse(b.toString()).bytes === body!.length;
        if (good) { tally.ok++; tally.bytes += b.length + (body?.length ?? 0); } else tally.failed.push({ at: Date.now(), what: `${path} -> ${res.statusCode} ${res.headers['x-luaproxy-error'] ?? ''}` });
        resolve();
      });
      res.on('error', () => { tally.failed.push({ at: Date.now(), what: `${path} -> response error` }); resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { tally.failed.push({ at: Date.now(), what: `${path} -> ${e.message}` }); resolve(); });
    req.end(body ?? undefined);
  });
}

describe('a soak with reloads and a backend restart returns to its baseline', () => {
  let proxy: ProxyProcess | null = null;
  const a = new RestartableBackend('a');
  const b = new RestartableBackend('b');
  afterAll(async () => {
    await proxy?.stop();
    for (const x of [a, b]) if (x.server?.listening) await x.crash();
  });

  it(`${ROUNDS} rounds of ${ROUND_MS / 1000} s, a reload each round, backend b crashes in round ${RESTART_ROUND + 1}`, async () => {
    await a.start();
    await b.start();
    proxy = await spawnProxy(script(a.port, b.port, 0));
    const rounds: Array<ProcStats & { requests: number; failed: number }> = [];
    const tally: Tally = { ok: 0, failed: [], bytes: 0 };
    let restartWindow: [number, number] = [0, 0];
    let seq = 0;
    let reloads = 0;
    let base: ProcStats | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      const end = Date.now() + ROUND_MS;
      const before = tally.ok + tally.failed.length;
      const failedBefore = tally.failed.length;
      const agents = Array.from({ length: KEEPALIVE_WORKERS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
      const workers = [
        ...agents.map((ag) => (async () => { while (Date.now() < end) await request(ag, proxy!.port, seq++, tally); })()),
        ...Array.from({ length: FRESH_WORKERS }, () => (async () => { while (Date.now() < end) await request(false, proxy!.port, seq++, tally); })()),
      ];
      const events = (async () => {
        await sleep(ROUND_MS / 3);
        await proxy!.reload(script(a.port, b.port, r + 1));
        reloads++;
        if (r === RESTART_ROUND) {
          restartWindow = [Date.now(), 0];
          await b.crash();
          await sleep(1500);
          await b.start(b.port);
          restartWindow[1] = Date.now() + 1000;
        }
      })();
      await Promise.all([...workers, events]);
      for (const ag of agents) ag.destroy();
      // settle: client keep-alive sockets are gone; backend idle sockets close after backend_idle
      await sleep(2500);
      const st = base ? await settle(proxy, base, 0, 10_000) : proxy.stats();
      rounds.push({ ...st, requests: tally.ok + tally.failed.length - before, failed: tally.failed.length - failedBefore });
      if (r === 0) base = st; // the first round warms the process up
    }
    const inWindow = tally.failed.filter((f) => f.at >= restartWindow[0] && f.at <= restartWindow[1]);
    const outside = tally.failed.filter((f) => !inWindow.includes(f));
    for (const [i, x] of rounds.entries()) figure(S, `round ${i + 1}`, `${x.requests} requests, ${x.failed} failed; RSS ${(x.rss / MiB).toFixed(1)} MiB, ${x.fds} fds, ${x.sockets} sockets`);
    figure(S, 'requests', tally.ok + tally.failed.length, `(${(tally.bytes / MiB).toFixed(0)} MiB of bodies verified)`);
    figure(S, 'reloads', reloads);
    atMost(S, 'failed requests outside the backend crash', outside.length, 0);
    atMost(S, 'failed requests during the backend crash (in flight to b)', inWindow.length, KEEPALIVE_WORKERS + FRESH_WORKERS);
    const last = rounds[rounds.length - 1];
    const warm = rounds.slice(1);
    atMost(S, 'open fds after the last round, above the baseline', last.fds - base!.fds, 0);
    atMost(S, 'sockets after the last round, above the baseline', last.sockets - base!.sockets, 0);
    const growth = (Math.max(...warm.map((x) => x.rss)) - base!.rss) / MiB;
    atMost(S, 'RSS above the baseline, worst round', Math.round(growth * 10) / 10, 48, 'MiB');
    // least-squares slope of RSS over the rounds after the heap has had two rounds to grow into
    const late = rounds.slice(2).map((x) => x.rss / MiB);
    const mx = (late.length - 1) / 2;
    const my = late.reduce((p, y) => p + y, 0) / late.length;
    const slope = late.length < 2 ? 0 : late.reduce((p, y, i) => p + (i - mx) * (y - my), 0) / late.reduce((p, _, i) => p + (i - mx) ** 2, 0);
    const trendAsserted = late.length >= 5;
    if (trendAsserted) atMost(S, 'RSS trend over the later rounds', Math.round(slope * 10) / 10, 4, 'MiB per round');
    else figure(S, 'RSS trend over the later rounds (asserted in the full run only: too few rounds)', Math.round(slope * 10) / 10, 'MiB per round');
    figure(S, 'proxy peak RSS (VmHWM)', last.hwm / MiB, 'MiB');
    figure(S, 'access-log lines written', proxy.accessLines);
    expect(outside.map((f) => f.what)).toEqual([]);
    expect(inWindow.length).toBeLessThanOrEqual(KEEPALIVE_WORKERS + FRESH_WORKERS);
    expect(last.fds).toBeLessThanOrEqual(base!.fds);
    expect(last.sockets).toBeLessThanOrEqual(base!.sockets);
    expect(growth).toBeLessThan(48);
    if (trendAsserted) expect(slope).toBeLessThan(4);
    expect(proxy.logs.filter((l) => l.level >= 60)).toEqual([]);
    expect(proxy.exited).toBeNull();
  });
});
