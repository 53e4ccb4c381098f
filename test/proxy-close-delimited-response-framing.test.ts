/**
 * Regression (issue #13, found by outside conformance suites): a backend response without
 * a length (an HTTP/1.0 backend, or HTTP/1.1 with Connection: close and no
 * Content-Length) reached an HTTP/1.1 client as `transfer-encoding: chunked` followed by
 * the raw body bytes, with no chunk framing, on a connection kept open. curl and undici
 * failed, and the client read the body's bytes as framing.
 *
 * For every way a backend can end a body (a Content-Length, chunked, the close over
 * HTTP/1.0 and over HTTP/1.1), this parses what the client receives byte for byte: an
 * HTTP/1.1 client gets canonical chunks ending with the last chunk, then its next request
 * is answered on the same connection; an HTTP/1.0 client gets the bytes ended by the close.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Client } from 'undici';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer } from './helpers/wire.js';
import { expectChunked, headerValues } from './helpers/framing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a body that looks like framing: chunk sizes, CRLFs, a last chunk, binary bytes */
const PIECES = ['5\r\nhello\r\n', '0\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\n', Buffer.from([0, 1, 2, 255, 13, 10]).toString('latin1'), 'x'.repeat(70_000), 'end'];
const BODY = PIECES.join('');

/** how the backend ends its body, by path */
const HEADS: Record<string, string> = {
  '/length': `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(BODY, 'latin1')}\r\n\r\n`,
  '/chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
  '/close-http10': 'HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n',
  '/close-http11': 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n',
  '/close-http11-no-connection-header': 'HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n',
  '/close-empty': 'HTTP/1.0 200 OK\r\n\r\n',
};

describe('a backend body without a length reaches the client correctly framed', () => {
  let be: RawServer, p: TestProxy;
  beforeAll(async () => {
    be = await startRawServer(async (w) => {
      try {
        for (;;) {
          const q = await w.request(20_000);
          w.write(HEADS[q.target]);
          if (q.target === '/close-empty') { w.socket.end(); return; }
          // the body in several reads, so the proxy sees it arrive piece by piece
          for (const piece of PIECES) {
            w.write(Buffer.from(q.target === '/chunked' ? `${piece.length.toString(16)}\r\n${piece}\r\n` : piece, 'latin1'));
            await sleep(5);
          }
          if (q.target === '/chunked') w.write('0\r\n\r\n');
          else if (q.target !== '/length') { w.socket.end(); return; }
        }
      } catch { /* the connection closed */ }
    });
    p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'health = { interval = 0 }\nfunction route() return "b" end\n');
  });
  afterAll(async () => { await p.close(); await be.close(); });

  for (const path of Object.keys(HEADS)) {
    it(`HTTP/1.1 client, ${path}: exact framing, then the next request on the same connection`, async () => {
      const w = await Wire.open(p.port);
      try {
        w.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const r = await w.response();
        expect(r.status).toBe(200);
        const want = path === '/close-empty' ? '' : BODY;
        if (path === '/length') {
          expect(headerValues(r, 'content-length')).toEqual([String(Buffer.byteLength(BODY, 'latin1'))]);
          expect(headerValues(r, 'transfer-encoding')).toEqual([]);
          expect(r.body.equals(Buffer.from(BODY, 'latin1'))).toBe(true);
        } else expectChunked(r, want);
        expect(headerValues(r, 'connection')).toEqual([]);
        // the connection is still good: the next response parses, and nothing came in between
        w.write('GET /length HTTP/1.1\r\nHost: x\r\n\r\n');
        const next = await w.response();
        expect(next.status).toBe(200);
        expect(next.body.equals(Buffer.from(BODY, 'latin1'))).toBe(true);
        await sleep(50);
        expect(w.buf.length).toBe(0);
        expect(w.closed || w.ended).toBe(false);
      } finally {
        w.close();
      }
    });

    it(`HTTP/1.0 client, ${path}: the bytes as sent, ended by the close`, async () => {
      const w = await Wire.open(p.port);
      try {
        w.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`);
        const r = await w.response();
        expect(r.status).toBe(200);
        expect(headerValues(r, 'transfer-encoding')).toEqual([]);
        if (path !== '/length') expect(headerValues(r, 'content-length')).toEqual([]);
        expect(r.body.equals(Buffer.from(path === '/close-empty' ? '' : BODY, 'latin1'))).toBe(true);
        expect(await w.closesWithin(2000)).toBe(true);
        expect(w.error).toBeNull();
      } finally {
        w.close();
      }
    });
  }

  it('undici, over one keep-alive connection, reads every kind of body whole', async () => {
    const c = new Client(p.url, { pipelining: 0 });
    try {
      for (let round = 0; round < 2; round++) {
        for (const path of Object.keys(HEADS)) {
          const r = await c.request({ path, method: 'GET', headers: { host: 'x' } });
          const body = Buffer.from(await r.body.arrayBuffer());
          expect(r.statusCode, path).toBe(200);
          expect(body.equals(Buffer.from(path === '/close-empty' ? '' : BODY, 'latin1')), path).toBe(true);
        }
      }
    } finally {
      await c.close();
    }
  });
});
