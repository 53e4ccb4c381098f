/**
 * Regression (issue #13): a backend response whose Transfer-Encoding is not plain chunked.
 * `gzip` (last coding not chunked: read until the close, RFC 9112 6.3) went to the client
 * as `transfer-encoding: chunked` with the raw bytes; `gzip, chunked` lost its gzip, so
 * the client took compressed bytes for the body.
 *
 * The proxy does not undo codings: an HTTP/1.1 client gets the backend's codings with
 * chunked applied last by the proxy (`gzip, chunked`), and decodes the body itself.
 * Chunked may be applied only once, so `chunked, gzip` goes through as it is, ended by
 * the close. An HTTP/1.0 client may not be sent Transfer-Encoding at all: 502.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import zlib from 'node:zlib';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer } from './helpers/wire.js';
import { expectChunked, headerValues } from './helpers/framing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TEXT = 'the quick brown fox '.repeat(5000);
const GZ = zlib.gzipSync(TEXT);

/** `b` as chunks of 1000 bytes */
function chunked(b: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 1000) {
    const c = b.subarray(i, i + 1000);
    out.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

describe('a backend\'s transfer codings other than chunked reach the client, so it can decode the body', () => {
  let be: RawServer, p: TestProxy;
  beforeAll(async () => {
    be = await startRawServer(async (w) => {
      try {
        for (;;) {
          const q = await w.request(20_000);
          switch (q.target) {
            case '/gzip':
              w.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n');
              for (let i = 0; i < GZ.length; i += 700) { w.write(GZ.subarray(i, i + 700)); await sleep(1); }
              w.socket.end();
              return;
            case '/gzip-chunked':
              w.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'), chunked(GZ)]));
              break;
            case '/chunked-gzip':
              // chunked, then gzip over that: read until the close
              w.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'), zlib.gzipSync(chunked(Buffer.from(TEXT)))]));
              w.socket.end();
              return;
            case '/http10-te':
              w.write('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
              w.socket.end();
              return;
            default:
              w.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          }
        }
      } catch { /* the connection closed */ }
    });
    p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'health = { interval = 0 }\nfunction route() return "b" end\n');
  });
  afterAll(async () => { await p.close(); await be.close(); });

  it('Transfer-Encoding: gzip (read until the close) reaches an HTTP/1.1 client as "gzip, chunked", on a connection that stays open', async () => {
    const w = await Wire.open(p.port);
    try {
      w.write('GET /gzip HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response();
      expect(r.status).toBe(200);
      expectChunked(r, GZ, 'gzip, chunked');
      expect(zlib.gunzipSync(r.body).toString()).toBe(TEXT);
      w.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await w.response()).body.toString()).toBe('ok');
    } finally {
      w.close();
    }
  });

  it('Transfer-Encoding: gzip, chunked keeps its gzip', async () => {
    const w = await Wire.open(p.port);
    try {
      w.write('GET /gzip-chunked HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response();
      expectChunked(r, GZ, 'gzip, chunked');
      expect(zlib.gunzipSync(r.body).toString()).toBe(TEXT);
      w.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await w.response()).body.toString()).toBe('ok');
    } finally {
      w.close();
    }
  });

  it('Transfer-Encoding: chunked, gzip goes through as it is, ended by the close (chunked may not be applied twice)', async () => {
    const w = await Wire.open(p.port);
    try {
      w.write('GET /chunked-gzip HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response();
      expect(headerValues(r, 'transfer-encoding')).toEqual(['chunked, gzip']);
      expect(headerValues(r, 'content-length')).toEqual([]);
      expect(headerValues(r, 'connection')).toEqual(['close']);
      // the helper read it until the close, as RFC 9112 6.3 says
      expect(r.chunked).toBe(false);
      const inner = zlib.gunzipSync(r.body);
      expect(inner.equals(chunked(Buffer.from(TEXT)))).toBe(true);
      expect(w.ended || w.closed).toBe(true);
      expect(w.error).toBeNull();
    } finally {
      w.close();
    }
  });

  it('an HTTP/1.0 client, which may not be sent Transfer-Encoding, gets 502 for a coding the proxy cannot undo', async () => {
    for (const path of ['/gzip', '/gzip-chunked', '/chunked-gzip']) {
      const w = await Wire.open(p.port);
      try {
        w.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`);
        const r = await w.response();
        expect(r.status, path).toBe(502);
        expect(r.header('x-luaproxy-error')).toBe('LPX_UPSTREAM_PROTOCOL');
        expect(headerValues(r, 'transfer-encoding')).toEqual([]);
      } finally {
        w.close();
      }
    }
  });

  it('Transfer-Encoding in an HTTP/1.0 response is faulty framing (RFC 9112 6.1): 502', async () => {
    const w = await Wire.open(p.port);
    try {
      w.write('GET /http10-te HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response();
      expect(r.status).toBe(502);
      expect(r.header('x-luaproxy-error')).toBe('LPX_UPSTREAM_PROTOCOL');
    } finally {
      w.close();
    }
  });
});
