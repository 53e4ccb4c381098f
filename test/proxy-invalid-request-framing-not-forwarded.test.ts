/**
 * Regression (issue #13): a request whose chunked framing is already known to be invalid
 * when its head arrives (the head and a bad chunk-size line in one read) was forwarded:
 * the backend got the head, then the client got 400. The size line is now checked first,
 * so the backend receives nothing. The same holds while the head waits for a backend (in
 * the queue of a backend at its concurrency limit) and the bad line comes after it.
 *
 * When the framing turns bad later, after the head and some of the body have gone, the
 * backend connection holds half a request: it must be closed, never returned to the pool
 * where the next request would follow that half on the same socket.
 */
import { describe, it, expect } from 'vitest';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer } from './helpers/wire.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Setup { be: RawServer; p: TestProxy; bytes: Buffer[]; close(): Promise<void> }

/** a raw backend that records every byte each connection sends, and answers /ok and /slow */
async function setup(extra = ''): Promise<Setup> {
  const bytes: Buffer[] = [];
  const be = await startRawServer(async (w) => {
    const k = bytes.push(Buffer.alloc(0)) - 1;
    w.socket.on('data', (d: Buffer) => { bytes[k] = Buffer.concat([bytes[k], d]); });
    try {
      for (;;) {
        const q = await w.request(20_000);
        if (q.target === '/slow') await sleep(400);
        w.write(`HTTP/1.1 200 OK\r\nContent-Length: ${2 + q.body.length}\r\n\r\nok${q.body.toString('latin1')}`);
      }
    } catch { /* the connection closed, or the proxy sent something this strict reader refuses */ }
  });
  // no active health checks: their TCP connects would count among the backend's connections
  const p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + `health = { interval = 0 }\n${extra}function route() return "b" end\n`);
  return { be, p, bytes, close: async () => { await p.close(); await be.close(); } };
}

const HEAD = 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';

describe('a request whose body framing is known to be invalid is not forwarded', () => {
  for (const bad of ['zz\r\n', '5 6\r\nhello\r\n', '5\nhello\r\n', '-1\r\n', '20000000000000\r\n', ';ext\r\n']) {
    it(`head and a bad first size line in one read (${JSON.stringify(bad)}): 400, and the backend gets nothing`, async () => {
      const { be, p, bytes, close } = await setup();
      const w = await Wire.open(p.port);
      try {
        w.write(HEAD + bad);
        const r = await w.response();
        expect(r.status).toBe(400);
        expect(r.header('x-luaproxy-error')).toBe('LPX_CLIENT_BAD_REQUEST');
        expect(await w.closesWithin(2000)).toBe(true);
        await sleep(50);
        expect(be.conns).toHaveLength(0);
        expect(bytes).toHaveLength(0);
      } finally {
        w.close();
        await close();
      }
    });
  }

  it('a valid first size line with the head still goes through (the line is consumed once, not twice)', async () => {
    const { p, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      for (const cut of [HEAD.length + 1, HEAD.length + 3, HEAD.length + 8]) {
        const all = `${HEAD}5;x=1\r\nhello\r\n00006\r\n world\r\n0\r\n\r\n`;
        w.write(all.slice(0, cut));
        await sleep(20);
        w.write(all.slice(cut));
        const r = await w.response();
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe('okhello world');
      }
    } finally {
      w.close();
      await close();
    }
  });

  it('a bad first size line that arrives while the head waits in a backend queue: 400, and the backend never sees that head', async () => {
    const { p, bytes, close } = await setup('limits = { backend_concurrency = 1, queue = 10, queue_timeout = 10 }\n');
    const busy = await Wire.open(p.port);
    const w = await Wire.open(p.port);
    try {
      busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(100);
      w.write(HEAD);
      await sleep(50);
      w.write('zz\r\n');
      const r = await w.response();
      expect(r.status).toBe(400);
      expect((await busy.response()).status).toBe(200);
      await sleep(100);
      const seen = Buffer.concat(bytes).toString('latin1');
      expect(seen).toContain('GET /slow');
      expect(seen).not.toContain('POST /up');
    } finally {
      busy.close();
      w.close();
      await close();
    }
  });

  it('framing that turns bad after the head went: the backend connection is closed, and the next request comes on a new one', async () => {
    const { be, p, bytes, close } = await setup();
    try {
      // warm one pooled connection
      const a = await Wire.open(p.port);
      a.write('GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect((await a.response()).status).toBe(200);
      a.close();
      await sleep(50);
      expect(be.conns).toHaveLength(1);
      // the head and a good first chunk go to the backend; then the framing breaks
      const w = await Wire.open(p.port);
      w.write(`${HEAD}5\r\nhello\r\n`);
      await sleep(100);
      w.write('6\r\n worldX\r\n');
      const r = await w.response();
      expect(r.status).toBe(400);
      w.close();
      const half = be.conns[0];
      expect(await half.closesWithin(2000)).toBe(true);
      // a new request must not follow the half request on that socket
      const b = await Wire.open(p.port);
      b.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await b.response()).status).toBe(200);
      b.close();
      expect(be.conns).toHaveLength(2);
      expect(bytes[0].toString('latin1')).toContain('POST /up');
      expect(bytes[0].toString('latin1')).not.toMatch(/GET \/ok[\s\S]*POST \/up[\s\S]*GET \/ok/);
      expect(bytes[1].toString('latin1')).toMatch(/^GET \/ok /);
    } finally {
      await close();
    }
  });
});
