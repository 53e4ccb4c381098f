/**
 * Regression (issue #13, found by outside conformance suites): a chunk size with leading
 * zeros (`000…0004e`, 33 zeros: 0x4e) is valid (RFC 9112 7.1: 1*HEXDIG), but the decoder
 * bounded the number of digits, so a client's request got 400 and a backend's response
 * 502. The value is what is bounded: past 2^53 - 1 is 400 (502 from a backend). The proxy
 * writes the size canonically on the other side.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer, type WireMessage } from './helpers/wire.js';
import { expectChunked } from './helpers/framing.js';

const ZEROS = '0'.repeat(33);
const DATA = 'd'.repeat(0x4e);

describe('chunk sizes with leading zeros are read by their value', () => {
  let be: RawServer, p: TestProxy;
  const got: WireMessage[] = [];
  beforeAll(async () => {
    be = await startRawServer(async (w) => {
      try {
        for (;;) {
          const q = await w.request(20_000);
          got.push(q);
          if (q.target === '/zeros') w.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${ZEROS}4e\r\n${DATA}\r\n${ZEROS}0\r\n\r\n`);
          else if (q.target === '/huge') w.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${ZEROS}20000000000000\r\n`);
          else w.write(`HTTP/1.1 200 OK\r\nContent-Length: ${q.body.length}\r\n\r\n${q.body.toString('latin1')}`);
        }
      } catch { /* the connection closed */ }
    });
    p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'health = { interval = 0 }\nfunction route() return "b" end\n');
  });
  afterAll(async () => { await p.close(); await be.close(); });

  it('a request body with 33 leading zeros in its sizes reaches the backend, re-chunked canonically', async () => {
    const w = await Wire.open(p.port);
    try {
      got.length = 0;
      w.write(`POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${ZEROS}4e\r\n${DATA}\r\n${ZEROS}0\r\n\r\n`);
      const r = await w.response();
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(DATA);
      expect(got).toHaveLength(1);
      expect(got[0].raw.toString('latin1')).toContain(`\r\n\r\n4e\r\n${DATA}\r\n0\r\n\r\n`);
    } finally {
      w.close();
    }
  });

  it('a backend response with 33 leading zeros in its sizes reaches the client, re-chunked canonically', async () => {
    const w = await Wire.open(p.port);
    try {
      w.write('GET /zeros HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response();
      expect(r.status).toBe(200);
      expectChunked(r, DATA);
      expect(r.raw.toString('latin1')).toContain(`\r\n\r\n4e\r\n${DATA}\r\n0\r\n\r\n`);
    } finally {
      w.close();
    }
  });

  it('a size past 2^53 - 1 is 400 from a client, and 502 from a backend', async () => {
    const w = await Wire.open(p.port);
    try {
      got.length = 0;
      w.write(`POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${ZEROS}20000000000000\r\n`);
      expect((await w.response()).status).toBe(400);
      expect(got).toHaveLength(0);
    } finally {
      w.close();
    }
    const v = await Wire.open(p.port);
    try {
      v.write('GET /huge HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await v.response();
      expect(r.status).toBe(502);
      expect(r.header('x-luaproxy-error')).toBe('LPX_UPSTREAM_PROTOCOL');
    } finally {
      v.close();
    }
  });
});
