/**
 * The client-side timeouts, in seconds: timeouts.client_idle closes an idle keep-alive
 * connection (counted from the end of the last response, not from the connection's
 * start); timeouts.client_request answers 408 to a request whose body stalls and drops
 * the attempt at the backend; timeouts.client_header answers 408 to a first head that
 * never completes. The proxy's sweeper runs every 250 ms, so bounds allow for that.
 */
import { describe, it, expect } from 'vitest';
import type http from 'node:http';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire } from './helpers/wire.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(timeouts: string, handler?: http.RequestListener): Promise<{ b: TestBackend; p: TestProxy; close(): Promise<void> }> {
  const b = await startBackend('b', handler);
  const p = await startProxy(luaBackends([b]) + `timeouts = { ${timeouts} }\nfunction route() return "b" end\n`);
  return { b, p, close: async () => { await p.close(); await b.close(); } };
}

describe('client timeouts', () => {
  it('client_idle = 1: an idle keep-alive connection closes about 1 s after its last response', async () => {
    const { p, close } = await setup('client_idle = 1');
    const w = await Wire.open(p.port);
    try {
      w.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await w.response()).status).toBe(200);
      // still open at 0.75 s; a second request restarts the idle clock, so the connection
      // outlives the first response's deadline (1 s, checked by 1.25 s)...
      await sleep(750);
      expect(w.ended || w.closed).toBe(false);
      w.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await w.response()).status).toBe(200);
      expect(await w.closesWithin(700)).toBe(false);
      // ...and closes soon after 1 s idle
      expect(await w.closesWithin(2500)).toBe(true);
      expect(w.buf.length).toBe(0);
    } finally {
      w.close();
      await close();
    }
  });

  it('client_request = 1: a request whose body stalls gets 408, and the backend sees its request dropped', async () => {
    let complete: boolean | null = null;
    let dropped: () => void = () => {};
    const droppedP = new Promise<void>((r) => { dropped = r; });
    const { b, p, close } = await setup('client_request = 1', (req, res) => {
      req.resume();
      req.on('end', () => { res.writeHead(200, { 'content-length': '2' }); res.end('ok'); });
      req.on('close', () => { complete = req.complete; dropped(); });
    });
    const w = await Wire.open(p.port);
    try {
      w.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`);
      const t0 = Date.now();
      const r = await w.response({ ms: 4000 });
      expect(r.status).toBe(408);
      expect(r.header('x-luaproxy-error')).toBe('LPX_CLIENT_TIMEOUT');
      expect((Date.now() - t0) / 1000).toBeGreaterThan(0.7);
      // the rest of the body will never come: the connection is closed, and the backend's request aborted
      expect(await w.closesWithin(3000)).toBe(true);
      await Promise.race([droppedP, sleep(3000)]);
      expect(b.seen).toHaveLength(1);
      expect(complete).toBe(false);
    } finally {
      w.close();
      await close();
    }
  });

  it('neither client_idle = 1 nor client_request = 1 cuts a response the backend takes 1.6 s over', async () => {
    const { p, close } = await setup('client_idle = 1, client_request = 1');
    const get = await Wire.open(p.port);
    const post = await Wire.open(p.port);
    try {
      get.write('GET /slow?ms=1600 HTTP/1.1\r\nHost: x\r\n\r\n');
      // a request whose body arrived in time: the clock stops with the body
      post.write('POST /slow?ms=1600 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
      const [g, r] = await Promise.all([get.response({ ms: 5000 }), post.response({ ms: 5000 })]);
      expect(g.status).toBe(200);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString()).bodyBytes).toBe(3);
    } finally {
      get.close();
      post.close();
      await close();
    }
  });

  it('client_header = 1: a first request head that never completes (or never starts) gets 408', async () => {
    const { b, p, close } = await setup('client_header = 1');
    const partial = await Wire.open(p.port);
    const silent = await Wire.open(p.port);
    try {
      partial.write('GET / HTTP/1.1\r\nHost: x\r\nX-Never: ');
      const t0 = Date.now();
      for (const w of [partial, silent]) {
        const r = await w.response({ ms: 4000 });
        expect(r.status).toBe(408);
        expect(r.header('x-luaproxy-error')).toBe('LPX_CLIENT_TIMEOUT');
        expect((Date.now() - t0) / 1000).toBeGreaterThan(0.7);
        expect(await w.closesWithin(3000)).toBe(true);
      }
      expect(b.seen).toHaveLength(0);
    } finally {
      partial.close();
      silent.close();
      await close();
    }
  });

  it('client_header = 1: a later head on a keep-alive connection that never completes gets 408 too', async () => {
    const { b, p, close } = await setup('client_header = 1');
    const w = await Wire.open(p.port);
    try {
      w.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await w.response()).status).toBe(200);
      w.write('GET /second HTTP/1.1\r\nHost: x\r\n');
      const r = await w.response({ ms: 4000 });
      expect(r.status).toBe(408);
      expect(await w.closesWithin(3000)).toBe(true);
      expect(b.seen.map((s) => s.url)).toEqual(['/first']);
    } finally {
      w.close();
      await close();
    }
  });
});
