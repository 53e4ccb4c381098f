/**
 * HTTP/2 protections (issue #15): the session settings bound streams and header lists;
 * rapid reset (CVE-2023-44487), CONTINUATION floods and HPACK bombs are stopped before a
 * request reaches a backend; and flow control is backpressure, so a client that opens
 * no window, or reads nothing at all, holds a bounded share of a large response.
 * The abusive clients write raw frames (test/helpers/h2-frames.ts) over real TLS.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import http from 'node:http';
import http2 from 'node:http2';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { tlsFiles, h2Connect, h2Request, type TlsFiles } from './helpers/h2.js';
import {
  connectRaw, frame, getBlock, literal, literalIndexed, indexed, settingsPayload, errorCode,
  T_DATA, T_HEADERS, T_RST_STREAM, T_CONTINUATION, T_WINDOW_UPDATE, T_GOAWAY, T_SETTINGS, END_STREAM, END_HEADERS, ACK,
} from './helpers/h2-frames.js';

const NAME = 'h2.example.com';
const BIG = 64 << 20;

describe('HTTP/2 protections', () => {
  let t: TlsFiles, p: TestProxy, b: TestBackend;
  let requests = 0;
  let active = 0;
  let maxActive = 0;
  /** bytes of /stream responses the backend's socket took, by request */
  const flushed: number[] = [];
  beforeAll(async () => {
    t = await tlsFiles(NAME);
    b = await startBackend('app', (req: http.IncomingMessage, res: http.ServerResponse) => {
      requests++;
      active++;
      maxActive = Math.max(maxActive, active);
      res.on('close', () => { active--; });
      if (req.url === '/slow') { setTimeout(() => res.end('slow'), 150); return; }
      if (req.url === '/stream') {
        const i = flushed.push(0) - 1;
        const chunk = Buffer.alloc(64 * 1024, 120);
        let sent = 0;
        const pump = () => {
          while (sent < BIG && !res.destroyed) {
            sent += chunk.length;
            const ok = res.write(chunk, () => { flushed[i] += chunk.length; });
            if (!ok) { res.once('drain', pump); return; }
          }
          if (!res.destroyed) res.end();
        };
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
        pump();
        return;
      }
      res.end('ok');
    });
    p = await startProxy(`${t.listen()}${luaBackends([{ name: 'app', url: b.url }])}
http2 = { max_concurrent_streams = 5, max_resets = 100 }
limits = { header_size = 8192 }
function route(host, path) return "app" end
`);
  });
  afterAll(async () => { await p?.close(); await b?.close(); });

  it('advertises max_concurrent_streams, and one session never has more requests at the backend at once', async () => {
    const s = h2Connect(p.port, NAME, t.ca);
    try {
      // a client may send only as many streams as the server's SETTINGS allow: wait for them
      await new Promise((r) => s.once('remoteSettings', r));
      maxActive = 0;
      const replies = await Promise.all(Array.from({ length: 20 }, () => h2Request(s, { ':path': '/slow' })));
      expect(s.remoteSettings.maxConcurrentStreams).toBe(5);
      expect(replies.every((r) => r.status === 200 && r.body.toString() === 'slow')).toBe(true);
      expect(maxActive).toBeGreaterThan(1);
      expect(maxActive).toBeLessThanOrEqual(5);
    } finally { s.close(); }
  });

  it('refuses a header list larger than limits.header_size, and the session serves the next request', async () => {
    const s = h2Connect(p.port, NAME, t.ca);
    try {
      const before = requests;
      const big = await h2Request(s, { ':path': '/', 'x-big': 'a'.repeat(10_000) }).then((r) => r.status, (e: Error) => e.message);
      // node's client may refuse to send it (the server said 8192), or the proxy resets or answers 431
      expect(big === 431 || /ENHANCE_YOUR_CALM|HEADER|header|RST|Stream closed/.test(String(big))).toBe(true);
      expect(requests).toBe(before);
      const ok = await h2Request(s, { ':path': '/' });
      expect(ok.status).toBe(200);
    } finally { s.close(); }
  });

  it('closes a connection that floods CONTINUATION frames, and no request reaches the backend', async () => {
    const raw = await connectRaw(p.port, NAME, t.ca);
    try {
      const before = requests;
      const parts: Buffer[] = [frame(T_HEADERS, END_STREAM, 1, getBlock(NAME, '/'))];
      for (let i = 0; i < 5000; i++) parts.push(frame(T_CONTINUATION, 0, 1, literal(`x-c${i}`, 'v'.repeat(50))));
      raw.write(Buffer.concat(parts));
      // nghttp2 ends the session (its CONTINUATION cap, the header list size): the socket closes
      expect(await raw.closed(5000)).toBe(true);
      expect(requests).toBe(before);
    } finally { raw.close(); }
  });

  it('refuses an HPACK bomb (one table entry referenced until the header list is huge) before it reaches the backend', async () => {
    const raw = await connectRaw(p.port, NAME, t.ca);
    try {
      const before = requests;
      // 4000 bytes into the dynamic table, then referenced 4000 times: 16 MB of header list from 8 KB of frames
      const block = Buffer.concat([getBlock(NAME, '/'), literalIndexed('x-bomb', 'b'.repeat(4000)), ...Array.from({ length: 4000 }, () => indexed(62))]);
      raw.write(frame(T_HEADERS, END_STREAM | END_HEADERS, 1, block));
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !raw.frames.some((f) => (f.type === T_RST_STREAM && f.stream === 1) || f.type === T_GOAWAY)) await new Promise((r) => setTimeout(r, 20));
      const f = raw.frames.find((x) => (x.type === T_RST_STREAM && x.stream === 1) || x.type === T_GOAWAY);
      expect(f).toBeDefined();
      expect(requests).toBe(before);
    } finally { raw.close(); }
  });

  it('a client that opens no flow-control window holds a bounded share of a large response: the backend is paused', async () => {
    const raw = await connectRaw(p.port, NAME, t.ca);
    try {
      flushed.length = 0;
      for (let i = 0; i < 4; i++) raw.write(frame(T_HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, getBlock(NAME, '/stream')));
      await new Promise((r) => setTimeout(r, 1500));
      expect(flushed.length).toBe(4);
      const received = [...raw.data.values()].reduce((a, n) => a + n, 0);
      // the connection window (65535 bytes) is all the client takes
      expect(received).toBeLessThanOrEqual(65535);
      // each backend got a few socket buffers' worth out, never the 64 MB it wants to send
      for (const n of flushed) expect(n).toBeLessThan(8 << 20);
    } finally { raw.close(); }
  });

  it('a client that stops reading its socket holds a bounded share too (kernel buffers, then the proxy pauses the backend)', async () => {
    // a window wide open, so only the unread socket holds the response back
    const raw = await connectRaw(p.port, NAME, t.ca, settingsPayload([[4, 2 ** 31 - 1]]));
    try {
      flushed.length = 0;
      raw.write(frame(T_WINDOW_UPDATE, 0, 0, Buffer.from([0x7f, 0xff, 0, 0])));
      raw.write(frame(T_HEADERS, END_STREAM | END_HEADERS, 1, getBlock(NAME, '/stream')));
      while ((raw.data.get(1) ?? 0) < 1 << 20) await new Promise((r) => setTimeout(r, 10));
      raw.stopReading();
      const received = raw.data.get(1)!;
      // wait until the backend can write no more
      let last = -1;
      for (let i = 0; i < 40 && flushed[0] !== last; i++) { last = flushed[0]; await new Promise((r) => setTimeout(r, 250)); }
      expect(flushed.length).toBe(1);
      // what left the backend and never reached the client sits in socket buffers (the kernel's, both hops) and the proxy
      const held = flushed[0] - received;
      expect(held).toBeLessThan(BIG / 4);
    } finally { raw.close(); }
  });

  describe('http2.initial_window_size', () => {
    let p3: TestProxy;
    let p4: TestProxy;
    beforeAll(async () => {
      p3 = await startProxy(`${t.listen()}${luaBackends([{ name: 'app', url: b.url }])}
http2 = { initial_window_size = 16384 }
function route(host, path) return "app" end
`);
      p4 = await startProxy(`${t.listen()}${luaBackends([{ name: 'app', url: b.url }])}
function route(host, path) return "app" end
`);
    });
    afterAll(async () => { await p3?.close(); await p4?.close(); });

    /** a POST whose 40,000 body bytes are sent at once, without waiting for WINDOW_UPDATE */
    async function overrun(port: number): Promise<{ rst: number | null; status: string | null }> {
      const raw = await connectRaw(port, NAME, t.ca);
      try {
        // the server's window applies once its SETTINGS are acknowledged: the helper ACKs them
        // as they arrive, and that ACK goes out before the frames below, on the same connection
        for (let i = 0; i < 300 && !raw.frames.some((f) => f.type === T_SETTINGS && (f.flags & ACK) === 0); i++) await new Promise((r) => setTimeout(r, 10));
        const block = Buffer.concat([literal(':method', 'POST'), literal(':scheme', 'https'), literal(':authority', NAME), literal(':path', '/upload'), literal('content-length', '40000')]);
        const data: Buffer[] = [frame(T_HEADERS, END_HEADERS, 1, block)];
        for (let i = 0; i < 4; i++) data.push(frame(T_DATA, i === 3 ? END_STREAM : 0, 1, Buffer.alloc(10_000, 97)));
        raw.write(Buffer.concat(data));
        const deadline = Date.now() + 3000;
        const answer = () => raw.frames.find((f) => (f.type === T_RST_STREAM && f.stream === 1) || f.type === T_GOAWAY || (f.type === T_HEADERS && f.stream === 1));
        while (Date.now() < deadline && answer() === undefined) await new Promise((r) => setTimeout(r, 20));
        const f = answer();
        return { rst: f !== undefined && f.type !== T_HEADERS ? errorCode(f) : null, status: f?.type === T_HEADERS ? 'headers' : null };
      } finally { raw.close(); }
    }

    it('is what a client may send on a stream before the proxy reads: more is a flow-control error', async () => {
      expect(await overrun(p3.port)).toEqual({ rst: http2.constants.NGHTTP2_FLOW_CONTROL_ERROR, status: null });
      // the same body within the default window (65,535) is a request like any other
      expect(await overrun(p4.port)).toEqual({ rst: null, status: 'headers' });
    });
  });

  describe('with the default stream limit (a rapid-reset client stays within it: each reset frees a slot)', () => {
    let p2: TestProxy;
    beforeAll(async () => {
      p2 = await startProxy(`${t.listen()}${luaBackends([{ name: 'app', url: b.url }])}
http2 = { max_resets = 100 }
function route(host, path) return "app" end
`);
    });
    afterAll(async () => { await p2?.close(); });

    it('closes a session whose client cancels streams in a loop (rapid reset) before they reach the backend, while another client is served', async () => {
      const raw = await connectRaw(p2.port, NAME, t.ca);
      const normal = h2Connect(p2.port, NAME, t.ca);
      try {
        await new Promise((r) => normal.once('remoteSettings', r));
        const before = requests;
        const block = getBlock(NAME, '/');
        const attack: Buffer[] = [];
        for (let i = 0; i < 600; i++) {
          const id = 1 + 2 * i;
          attack.push(frame(T_HEADERS, END_STREAM | END_HEADERS, id, block), frame(T_RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
        }
        const served = Promise.all(Array.from({ length: 30 }, () => h2Request(normal, { ':path': '/' })));
        raw.write(Buffer.concat(attack));
        expect(await raw.closed(5000)).toBe(true);
        const g = raw.goaway();
        expect(g).toBeDefined();
        expect(errorCode(g!)).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        const replies = await served;
        expect(replies.every((r) => r.status === 200)).toBe(true);
        // the session was cut off after max_resets cancellations: most of the 600 never reached the backend
        expect(requests - before - 30).toBeLessThanOrEqual(150);
        expect(p2.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('rapid reset'))).toBe(true);
      } finally { raw.close(); normal.close(); }
    });

  });
});
