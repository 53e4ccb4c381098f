/**
 * A direct answer to HEAD agrees with a backend's answer to HEAD
 * (proxy-bodiless-responses.test.ts): the head with the Content-Length the body would
 * have had, and no body bytes, so the next request on the same connection gets its own
 * response. A HEAD answered with a direct 204 or 304 (issue #13) has no Content-Length
 * at all.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { Wire } from './helpers/wire.js';

const BODY = 'a body of 24 bytes here\n';

describe('a direct answer to HEAD', () => {
  let p: TestProxy;
  beforeAll(async () => {
    p = await startProxy(`function route(host, path)
  if path == "/body" then return { status = 200, headers = { ["content-type"] = "text/x-test" }, body = "${BODY.replace('\n', '\\n')}" } end
  if path == "/204" then return { status = 204, body = "x" } end
  if path == "/304" then return { status = 304, body = "x" } end
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

  it('sends the head with the body\'s Content-Length and no body bytes; the next response is intact', async () => {
    const w = await Wire.open(p.port);
    try {
      w.write('GET /body HTTP/1.1\r\nHost: x\r\n\r\n');
      const g = await w.response();
      expect(g.body.toString()).toBe(BODY);
      w.write('HEAD /body HTTP/1.1\r\nHost: x\r\n\r\n');
      const h = await w.response({ head: true });
      expect(h.status).toBe(200);
      expect(h.header('content-length')).toBe(String(BODY.length));
      expect(h.header('content-type')).toBe('text/x-test');
      await next(w, '/after-head');
      expect(w.closed || w.ended).toBe(false);
    } finally {
      w.close();
    }
  });

  it('HEAD answered with a direct 204 or 304: no Content-Length, no body; the next response is intact', async () => {
    const w = await Wire.open(p.port);
    try {
      for (const status of [204, 304]) {
        w.write(`HEAD /${status} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const h = await w.response({ head: true });
        expect(h.status).toBe(status);
        expect(h.header('content-length')).toBeUndefined();
        await next(w, `/after-head-${status}`);
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(w.buf.length).toBe(0);
      expect(w.closed || w.ended).toBe(false);
    } finally {
      w.close();
    }
  });
});
