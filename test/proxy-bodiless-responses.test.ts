/**
 * Responses without a body: the answer to HEAD, 204 and 304. The client gets the head only
 * (a HEAD answer keeps its Content-Length), the proxy does not wait for a body that will
 * never come, and the same keep-alive connection serves the next request correctly. A
 * backend that wrongly sends bytes after a 204 corrupts neither the client connection nor
 * a later request (its connection is not trusted again).
 */
import { describe, it, expect } from 'vitest';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer, type WireMessage } from './helpers/wire.js';

const SMUGGLED = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG';

/** a raw backend; `served` lists each request's path with the index of the backend connection it came on */
async function setup(): Promise<{ be: RawServer; p: TestProxy; served: Array<[string, number]>; close(): Promise<void> }> {
  const served: Array<[string, number]> = [];
  const be = await startRawServer(async (w) => {
    const id = be.conns.indexOf(w);
    try {
      for (;;) {
        const q = await w.request(20_000);
        served.push([`${q.method} ${q.target}`, id]);
        switch (q.target) {
          case '/head': w.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n'); break;
          case '/head-chunked': w.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'); break;
          case '/204': w.write('HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n'); break;
          case '/304': w.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 500\r\n\r\n'); break;
          // wrong: bytes after a 204 that look like a response to the next request
          case '/204-junk': w.write(`HTTP/1.1 204 No Content\r\n\r\n${SMUGGLED}`); break;
          // wrong: a body to HEAD
          case '/head-junk': w.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG${SMUGGLED}`); break;
          case '/204-late-junk':
            w.write('HTTP/1.1 204 No Content\r\n\r\n');
            setTimeout(() => { if (!w.closed) w.write(SMUGGLED); }, 30);
            break;
          default: {
            const body = `answer to ${q.target}`;
            w.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
          }
        }
      }
    } catch { /* the connection closed */ }
  });
  // no active health checks: their TCP connects would shift the backend connection indexes
  const p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'health = { interval = 0 }\nfunction route() return "b" end\n');
  return { be, p, served, close: async () => { await p.close(); await be.close(); } };
}

async function getOk(w: Wire, path: string): Promise<void> {
  w.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const r = await w.response();
  expect(r.status).toBe(200);
  expect(r.body.toString()).toBe(`answer to ${path}`);
}

describe('responses without a body', () => {
  it('HEAD: the head only, Content-Length kept, then a GET on the same connection is answered correctly', async () => {
    const { p, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      w.write('HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response({ head: true });
      expect(r.status).toBe(200);
      expect(r.header('content-length')).toBe('1234');
      await getOk(w, '/after-head');
      // a HEAD answer that names chunked framing has no body either
      w.write('HEAD /head-chunked HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await w.response({ head: true })).status).toBe(200);
      await getOk(w, '/after-head-chunked');
      // HEAD and GET written together
      w.write('HEAD /head HTTP/1.1\r\nHost: x\r\n\r\nGET /pipelined HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await w.response({ head: true })).header('content-length')).toBe('1234');
      const g = await w.response();
      expect(g.body.toString()).toBe('answer to /pipelined');
      expect(w.closed || w.ended).toBe(false);
    } finally {
      w.close();
      await close();
    }
  });

  it('204 and 304: the head only, then the next request on the same connection is answered correctly', async () => {
    const { p, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      w.write('GET /204 HTTP/1.1\r\nHost: x\r\n\r\n');
      const a: WireMessage = await w.response();
      expect(a.status).toBe(204);
      expect(a.header('x-a')).toBe('1');
      expect(a.header('transfer-encoding')).toBeUndefined();
      await getOk(w, '/after-204');
      w.write('GET /304 HTTP/1.1\r\nHost: x\r\nIf-None-Match: "v1"\r\n\r\n');
      const b = await w.response();
      expect(b.status).toBe(304);
      expect(b.header('etag')).toBe('"v1"');
      expect(b.header('transfer-encoding')).toBeUndefined();
      await getOk(w, '/after-304');
      expect(w.closed || w.ended).toBe(false);
    } finally {
      w.close();
      await close();
    }
  });

  it('bytes a backend wrongly sends after a 204 (or as a body to HEAD) reach neither the client nor a later request', async () => {
    const { p, served, close } = await setup();
    const w = await Wire.open(p.port);
    try {
      for (const junk of ['/204-junk', '/204-late-junk', '/head-junk']) {
        const method = junk === '/head-junk' ? 'HEAD' : 'GET';
        w.write(`${method} ${junk} HTTP/1.1\r\nHost: x\r\n\r\n`);
        expect((await w.response({ head: method === 'HEAD' })).status).toBe(method === 'HEAD' ? 200 : 204);
        // give the late junk time to arrive at the proxy before the next request
        await new Promise((r) => setTimeout(r, 200));
        expect(w.buf.length).toBe(0);
        await getOk(w, `/after${junk}`);
        // the connection that sent junk was not used again
        const junkConn = served.find(([q]) => q === `${method} ${junk}`)![1];
        const nextConn = served.find(([q]) => q === `GET /after${junk}`)![1];
        expect(nextConn).not.toBe(junkConn);
      }
      expect(w.closed || w.ended).toBe(false);
    } finally {
      w.close();
      await close();
    }
  });
});
