/**
 * Chunked bodies in both directions. A chunked request body (several chunks, a chunk
 * extension, a trailer, split across writes at awkward places) reaches the backend whole,
 * in valid chunked framing that ends exactly where the message ends. A chunked response
 * with many small chunks (extensions, a trailer, split across writes) reaches an HTTP/1.1
 * client whole, in valid chunked framing, and the connection serves the next request.
 */
import { describe, it, expect } from 'vitest';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer, type WireMessage } from './helpers/wire.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** the response body: 300 small chunks of varied sizes */
const PIECES = Array.from({ length: 300 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat((i * 7) % 17 + 1));

/** the chunked response as a backend sends it: some chunks carry extensions, and a trailer ends it */
function chunkedResponse(): string {
  const chunks = PIECES.map((s, i) => `${s.length.toString(16)}${i % 5 === 0 ? `;ext${i}=v` : ''}\r\n${s}\r\n`).join('');
  return `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n${chunks}0\r\nX-Sum: 42\r\n\r\n`;
}

/** a raw backend that records each request it reads (strictly framed) and answers it */
async function setup(): Promise<{ be: RawServer; p: TestProxy; got: WireMessage[]; close(): Promise<void> }> {
  const got: WireMessage[] = [];
  const be = await startRawServer(async (w) => {
    try {
      for (;;) {
        const q = await w.request(20_000);
        got.push(q);
        if (q.target === '/chunked') {
          // in pieces of 13 bytes, so sizes, extensions and CRLFs are split between reads
          const all = Buffer.from(chunkedResponse());
          for (let i = 0; i < all.length; i += 13) {
            w.write(all.subarray(i, i + 13));
            if (i % 650 === 0) await sleep(2);
          }
          continue;
        }
        const body = `got ${q.body.length} bytes: ${q.body.toString()}`;
        w.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
    } catch { /* the connection closed */ }
  });
  const p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'function route() return "b" end\n');
  return { be, p, got, close: async () => { await p.close(); await be.close(); } };
}

describe('chunked bodies both ways', () => {
  it('a chunked request body with an extension and a trailer reaches the backend whole and correctly framed', async () => {
    const { p, got, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      // "hello" + " chunked" + " world!" with an extension on the second chunk and a trailer,
      // then a second request in the same write as the end of the first
      const writes = [
        'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r',
        '\nhel',
        'lo\r\n8;name="va',
        'lue"\r\n chunked\r\n7\r\n world!\r',
        '\n0\r\nX-Trailer: t\r\n',
        '\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n',
      ];
      for (const s of writes) {
        w.write(s);
        await sleep(20);
      }
      const r = await w.response();
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('got 20 bytes: hello chunked world!');
      const n = await w.response();
      expect(n.body.toString()).toBe('got 0 bytes: ');

      expect(got.map((q) => `${q.method} ${q.target}`)).toEqual(['POST /upload', 'GET /next']);
      const up = got[0];
      // the backend read it as chunked (w.request decodes strictly: sizes, CRLFs, the last chunk)
      expect(up.chunked).toBe(true);
      expect(up.header('content-length')).toBeUndefined();
      expect(up.body.toString()).toBe('hello chunked world!');
      // and the framing ended where the message ended: the next request parsed cleanly after it
      expect(up.raw.subarray(up.raw.length - 5).toString()).toBe('0\r\n\r\n');
      expect(got[1].header('content-length') ?? '0').toBe('0');
      expect(got[1].header('transfer-encoding')).toBeUndefined();
    } finally {
      w.close();
      await close();
    }
  });

  it('a chunked response of many small chunks reaches an HTTP/1.1 client whole, and the connection goes on', async () => {
    const { p, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      w.write('GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response();
      expect(r.status).toBe(200);
      expect(r.chunked).toBe(true);
      expect(r.header('content-length')).toBeUndefined();
      expect(r.body.toString()).toBe(PIECES.join(''));
      w.write('GET /after HTTP/1.1\r\nHost: x\r\n\r\n');
      const n = await w.response();
      expect(n.body.toString()).toBe('got 0 bytes: ');
      expect(w.buf.length).toBe(0);
    } finally {
      w.close();
      await close();
    }
  });
});
