/**
 * HTTP/1.1 pipelining: requests written back to back, before any answer, get their
 * responses in request order, each whole and none interleaved, even when a backend would
 * have later answers ready first; the connection stays usable afterwards.
 */
import { describe, it, expect } from 'vitest';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { Wire } from './helpers/wire.js';

const N = 20;

/** request i: a GET, a POST with Content-Length, or a POST with a chunked body */
function request(i: number): { bytes: string; method: string; body: string } {
  const body = `body-of-${i}-`.repeat(i + 1);
  switch (i % 3) {
    case 0: return { bytes: `GET /r/${i} HTTP/1.1\r\nHost: x\r\n\r\n`, method: 'GET', body: '' };
    case 1: return { bytes: `POST /r/${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`, method: 'POST', body };
    default: {
      const half = Math.floor(body.length / 2);
      const a = body.slice(0, half);
      const b = body.slice(half);
      return {
        bytes: `POST /r/${i} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`,
        method: 'POST', body,
      };
    }
  }
}

describe('pipelined requests', () => {
  it(`answers ${N} requests written in one write in request order, none interleaved, and keeps the connection`, async () => {
    // earlier requests wait longer, so answers to later ones would be ready first; odd
    // requests get a Content-Length answer, even ones a chunked answer in two pieces
    const b = await startBackend('b', (req, res) => {
      const i = Number(/^\/r\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const out = JSON.stringify({ i, method: req.method, body: Buffer.concat(parts).toString() });
        setTimeout(() => {
          if (i % 2 === 1) {
            res.writeHead(200, { 'content-length': Buffer.byteLength(out), 'x-i': String(i) });
            res.end(out);
          } else {
            res.writeHead(200, { 'x-i': String(i) });
            res.write(out.slice(0, 5));
            setTimeout(() => res.end(out.slice(5)), 5);
          }
        }, Math.max(0, (N - 1 - i) * 6));
      });
    });
    const p = await startProxy(luaBackends([b]) + 'function route() return "b" end\n');
    const w = await Wire.open(p.port);
    try {
      const reqs = Array.from({ length: N }, (_, i) => request(i));
      w.write(reqs.map((r) => r.bytes).join(''));
      for (let i = 0; i < N; i++) {
        const r = await w.response({ ms: 8000 });
        expect(r.status).toBe(200);
        expect(r.header('x-i')).toBe(String(i));
        expect(JSON.parse(r.body.toString())).toEqual({ i, method: reqs[i].method, body: reqs[i].body });
      }
      expect(w.buf.length).toBe(0);
      expect(b.seen.map((s) => s.url)).toEqual(reqs.map((_, i) => `/r/${i}`));
      // the connection is still open and serves one more request
      expect(w.closed || w.ended).toBe(false);
      w.write(request(N).bytes);
      const last = await w.response();
      expect(JSON.parse(last.body.toString())).toEqual({ i: N, method: request(N).method, body: request(N).body });
      expect(w.closed || w.ended).toBe(false);
    } finally {
      w.close();
      await p.close();
      await b.close();
    }
  });
});
