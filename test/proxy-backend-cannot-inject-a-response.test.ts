/**
 * Regression (issue #13): a backend body without a length went to an HTTP/1.1 client raw
 * under `transfer-encoding: chunked`, so a body of
 * `0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected` ended the response
 * early and reached the client as a complete extra response: the answer to its next
 * request on the keep-alive connection. The body must arrive as data, and the next request
 * must get its own response.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer } from './helpers/wire.js';
import { expectChunked } from './helpers/framing.js';

const INJECT = '0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected';

const HEADS: Record<string, string> = {
  '/http10': 'HTTP/1.0 200 OK\r\n\r\n',
  '/http11-close': 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n',
  '/http11-no-length': 'HTTP/1.1 200 OK\r\n\r\n',
};

describe('a backend cannot inject a response through a body without a length', () => {
  let be: RawServer, p: TestProxy;
  beforeAll(async () => {
    be = await startRawServer(async (w) => {
      try {
        for (;;) {
          const q = await w.request(20_000);
          const head = HEADS[q.target];
          if (head === undefined) {
            w.write(`HTTP/1.1 200 OK\r\nContent-Length: ${6 + q.target.length}\r\n\r\ngenuine${q.target.slice(1)}`);
            continue;
          }
          w.write(head);
          w.write(INJECT);
          w.socket.end();
          return;
        }
      } catch { /* the connection closed */ }
    });
    p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'health = { interval = 0 }\nfunction route() return "b" end\n');
  });
  afterAll(async () => { await p.close(); await be.close(); });

  for (const path of Object.keys(HEADS)) {
    it(`${path}: the body is data, and the next request on the connection gets its own response`, async () => {
      const w = await Wire.open(p.port);
      try {
        w.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const r = await w.response();
        expect(r.status).toBe(200);
        expectChunked(r, INJECT);
        w.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
        const next = await w.response();
        expect(next.body.toString()).toBe('genuinesecond');
        expect(w.buf.toString('latin1')).toBe('');
      } finally {
        w.close();
      }
    });

    it(`${path}: two requests pipelined in one write get the body, then the genuine response`, async () => {
      const w = await Wire.open(p.port);
      try {
        w.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n`);
        const r = await w.response();
        expectChunked(r, INJECT);
        const next = await w.response();
        expect(next.body.toString()).toBe('genuinesecond');
      } finally {
        w.close();
      }
    });
  }
});
