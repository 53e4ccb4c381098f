/**
 * `Expect: 100-continue` (curl sends it for bodies over 1 KiB): the proxy answers
 * `100 Continue` itself when the body is wanted, the client sends the body only then, the
 * backend never sees the Expect header and gets the body intact. Any other expectation is
 * refused with 417 and never reaches the backend.
 */
import { describe, it, expect } from 'vitest';
import crypto from 'node:crypto';
import { startBackend, pattern, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire } from './helpers/wire.js';

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** a backend that answers every request with the sha256 and length of its body */
async function setup(): Promise<{ b: TestBackend; p: TestProxy; close(): Promise<void> }> {
  const b = await startBackend('b', (req, res) => {
    const h = crypto.createHash('sha256');
    let n = 0;
    req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
    req.on('end', () => {
      const body = JSON.stringify({ sha: h.digest('hex'), bytes: n, expect: req.headers.expect ?? null });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const p = await startProxy(luaBackends([b]) + 'function route() return "b" end\n');
  return { b, p, close: async () => { await p.close(); await b.close(); } };
}

describe('Expect: 100-continue', () => {
  it('answers 100 Continue before the body is sent, then the backend\'s response; the backend sees no Expect and the whole body', async () => {
    const { b, p, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      for (const size of [64 * 1024, 5000]) {
        // the same keep-alive connection twice: each request gets its own 100 Continue
        const body = pattern(size);
        w.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\nExpect: 100-continue\r\n\r\n`);
        await w.until(() => w.buf.length >= CONTINUE.length, 3000, '100 Continue');
        expect(w.buf.subarray(0, CONTINUE.length).toString('latin1')).toBe(CONTINUE);
        w.buf = w.buf.subarray(CONTINUE.length);
        w.write(body);
        const r = await w.response();
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body.toString())).toEqual({ sha: sha(body), bytes: size, expect: null });
      }
      // a chunked body, the same way
      w.write('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n');
      await w.until(() => w.buf.length >= CONTINUE.length, 3000, '100 Continue');
      expect(w.buf.subarray(0, CONTINUE.length).toString('latin1')).toBe(CONTINUE);
      w.buf = w.buf.subarray(CONTINUE.length);
      w.write('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
      const c = await w.response();
      expect(JSON.parse(c.body.toString())).toEqual({ sha: sha(Buffer.from('hello world')), bytes: 11, expect: null });
      expect(b.seen).toHaveLength(3);
      for (const s of b.seen) {
        expect(s.headers.expect).toBeUndefined();
        expect(s.rawHeaders.some((h) => h.toLowerCase() === 'expect')).toBe(false);
      }
    } finally {
      w.close();
      await close();
    }
  });

  it('still works when the client sends the body without waiting for 100 Continue', async () => {
    const { p, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      const body = pattern(3000);
      w.write(Buffer.concat([Buffer.from(`PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\nExpect: 100-continue\r\n\r\n`), body]));
      // a 100 Continue may come first (it is allowed); the final response must follow it intact
      let r = await w.response();
      if (r.status === 100) r = await w.response();
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString())).toEqual({ sha: sha(body), bytes: 3000, expect: null });
    } finally {
      w.close();
      await close();
    }
  });

  it('answers 417 to any other expectation, without asking the backend', async () => {
    const { b, p, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      w.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: something-else\r\n\r\n');
      const r = await w.response();
      expect(r.status).toBe(417);
      expect(r.header('x-luaproxy-error')).toBe('LPX_CLIENT_EXPECTATION_FAILED');
      expect(b.seen).toHaveLength(0);
    } finally {
      w.close();
      await close();
    }
  });
});
