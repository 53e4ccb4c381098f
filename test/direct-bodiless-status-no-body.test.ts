/**
 * Regression (issue #13): a direct answer `{ status = 204, body = "x" }` (or 304) was
 * written with its body and a Content-Length. A client reads no body after a 204 or 304,
 * so on a keep-alive connection those bytes became the start of the next response. A
 * direct 204 or 304 has no body and no Content-Length whatever the script gave (a
 * script's content-length is never used); a 205 has no body and Content-Length 0. The
 * next request on the same connection gets its own response, parsed from its first byte.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { Wire } from './helpers/wire.js';

describe('a direct 204, 205 or 304 carries no body', () => {
  let p: TestProxy;
  beforeAll(async () => {
    p = await startProxy(`function route(host, path)
  if path == "/204" then return { status = 204, body = "HTTP/1.1 200 OK\\r\\ncontent-length: 5\\r\\n\\r\\nWRONG" } end
  if path == "/304" then return { status = 304, headers = { etag = '"v1"', ["content-length"] = "9" }, body = "not sent" } end
  if path == "/205" then return { status = 205, body = "x" } end
  return { status = 200, body = "answer to " .. path }
end
`);
  });
  afterAll(async () => { await p.close(); });

  async function next(w: Wire, path: string): Promise<void> {
    w.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const r = await w.response();
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(`answer to ${path}`);
  }

  it('204 and 304: the head only, without Content-Length, then the next response on the same connection is intact', async () => {
    const w = await Wire.open(p.port);
    try {
      w.write('GET /204 HTTP/1.1\r\nHost: x\r\n\r\n');
      const a = await w.response();
      expect(a.status).toBe(204);
      expect(a.header('content-length')).toBeUndefined();
      expect(a.header('content-type')).toBeUndefined();
      expect(a.header('transfer-encoding')).toBeUndefined();
      await next(w, '/after-204');
      w.write('GET /304 HTTP/1.1\r\nHost: x\r\nIf-None-Match: "v1"\r\n\r\n');
      const b = await w.response();
      expect(b.status).toBe(304);
      expect(b.header('etag')).toBe('"v1"');
      expect(b.header('content-length')).toBeUndefined();
      await next(w, '/after-304');
      // written back to back, answered in order
      w.write('GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /pipelined HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await w.response()).status).toBe(204);
      await new Promise((r) => setTimeout(r, 50));
      const c = await w.response();
      expect(c.status).toBe(200);
      expect(c.body.toString()).toBe('answer to /pipelined');
      await new Promise((r) => setTimeout(r, 100));
      expect(w.buf.length).toBe(0);
      expect(w.closed || w.ended).toBe(false);
    } finally {
      w.close();
    }
  });

  it('205: no body, Content-Length 0', async () => {
    const w = await Wire.open(p.port);
    try {
      w.write('GET /205 HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await w.response();
      expect(r.status).toBe(205);
      expect(r.header('content-length')).toBe('0');
      expect(r.body.length).toBe(0);
      await next(w, '/after-205');
    } finally {
      w.close();
    }
  });
});
