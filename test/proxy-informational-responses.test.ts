/**
 * 1xx responses from a backend (100 Continue, 103 Early Hints) before its final response:
 * the client gets exactly the final response, whether the interim ones arrive in one
 * piece with it or in separate writes, and the keep-alive connection serves the next
 * request cleanly.
 */
import { describe, it, expect } from 'vitest';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { Wire, startRawServer } from './helpers/wire.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const C100 = 'HTTP/1.1 100 Continue\r\n\r\n';
const C103 = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n';
const final = (path: string) => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${`final ${path}`.length}\r\n\r\nfinal ${path}`;

describe('informational (1xx) responses from a backend', () => {
  it('the client gets exactly the final response', async () => {
    const be = await startRawServer(async (w) => {
      try {
        for (;;) {
          await w.until(() => w.buf.indexOf('\r\n\r\n') >= 0, 20_000, 'request head');
          // a backend may say 100 Continue as soon as it has the head, before reading the body
          if (w.buf.toString('latin1', 0, 13) === 'POST /upload ') w.write(C100);
          const q = await w.request();
          const f = final(q.target);
          switch (q.target) {
            case '/100': w.write(C100 + f); break;
            case '/103': w.write(C103 + f); break;
            case '/all-at-once': w.write(C100 + C103 + C103 + f); break;
            case '/separately':
              for (const piece of [C100, C103.slice(0, 20), C103.slice(20), C103, f.slice(0, 10), f.slice(10)]) {
                w.write(piece);
                await sleep(15);
              }
              break;
            default: w.write(`HTTP/1.1 200 OK\r\nContent-Length: ${q.body.length}\r\n\r\n${q.body.toString()}`);
          }
        }
      } catch { /* the connection closed */ }
    });
    const p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'function route() return "b" end\n');
    const w = await Wire.open(p.port);
    try {
      for (const path of ['/100', '/103', '/all-at-once', '/separately']) {
        w.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const r = await w.response();
        expect(r.start).toBe('HTTP/1.1 200 OK');
        expect(r.header('link')).toBeUndefined();
        expect(r.body.toString()).toBe(`final ${path}`);
        expect(w.buf.length).toBe(0);
      }
      // an upload the backend answers 100 Continue to (the client asked for nothing)
      w.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n');
      await sleep(100);
      w.write('hello there');
      const u = await w.response();
      expect(u.status).toBe(200);
      expect(u.body.toString()).toBe('hello there');
      expect(w.buf.length).toBe(0);
      expect(w.closed || w.ended).toBe(false);
    } finally {
      w.close();
      await p.close();
      await be.close();
    }
  });
});
