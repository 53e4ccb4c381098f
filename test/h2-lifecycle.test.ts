/**
 * HTTP/2 sessions over time (issue #15): an idle session is closed after
 * timeouts.client_idle, a request body slower than timeouts.client_request gets 408, a
 * backend that dies mid-response resets only that stream, and a shutdown lets streams
 * under way finish after a GOAWAY.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import http from 'node:http';
import http2 from 'node:http2';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { tlsFiles, h2Connect, h2Request, type TlsFiles } from './helpers/h2.js';

const NAME = 'life.example.com';

describe('HTTP/2 sessions over time', () => {
  let t: TlsFiles, b: TestBackend;
  beforeAll(async () => {
    t = await tlsFiles(NAME);
    b = await startBackend('app', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url === '/slow') { setTimeout(() => res.end('slow done'), 600); return; }
      if (req.url === '/dies') {
        // chunked: only the stream's reset can tell an HTTP/2 client the body is cut short
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(Buffer.alloc(1000, 100));
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      req.resume();
      req.on('end', () => res.end('ok'));
    });
  });
  afterAll(async () => { await b?.close(); });

  const script = (extra: string) => `${t.listen()}${luaBackends([{ name: 'app', url: b.url }])}
${extra}
function route(host, path) return "app" end
`;

  describe('timeouts', () => {
    let p: TestProxy;
    beforeAll(async () => { p = await startProxy(script('timeouts = { client_idle = 1, client_request = 1 }')); });
    afterAll(async () => { await p?.close(); });

    it('closes a session that has had no stream open for timeouts.client_idle', async () => {
      const s = h2Connect(p.port, NAME, t.ca);
      try {
        expect((await h2Request(s, { ':path': '/' })).status).toBe(200);
        const t0 = Date.now();
        const how = await new Promise<string>((resolve) => {
          s.once('goaway', () => resolve('goaway'));
          s.once('close', () => resolve('close'));
          setTimeout(() => resolve('still open'), 4000);
        });
        expect(how).not.toBe('still open');
        expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
      } finally { s.close(); }
    });

    it('answers 408 to a request body that does not arrive within timeouts.client_request', async () => {
      const s = h2Connect(p.port, NAME, t.ca);
      try {
        const r = await new Promise<{ status: number; error: string | undefined }>((resolve, reject) => {
          const req = s.request({ ':method': 'POST', ':path': '/upload' }, { endStream: false });
          req.write('the start of a body that never ends');
          let status = 0;
          req.on('response', (h) => { status = Number(h[':status']); resolve({ status, error: h['x-luaproxy-error'] as string | undefined }); });
          req.on('error', reject);
        });
        expect(r.status).toBe(408);
        expect(r.error).toBe('LPX_CLIENT_TIMEOUT');
      } finally { s.close(); }
    });
  });

  describe('failures and shutdown', () => {
    let p: TestProxy;
    beforeAll(async () => { p = await startProxy(script('')); });
    afterAll(async () => { await p?.close(); });

    it('resets only the stream whose backend dies mid-response; the session serves on', async () => {
      const s = h2Connect(p.port, NAME, t.ca);
      try {
        const got = await new Promise<{ bytes: number; code: number | undefined; ended: boolean }>((resolve) => {
          const req = s.request({ ':path': '/dies' });
          let bytes = 0;
          req.on('data', (d: Buffer) => { bytes += d.length; });
          req.on('end', () => resolve({ bytes, code: undefined, ended: true }));
          req.on('close', () => resolve({ bytes, code: req.rstCode, ended: false }));
          req.on('error', () => {});
        });
        expect(got.ended).toBe(false);
        expect(got.code).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
        expect(got.bytes).toBe(1000);
        const next = await h2Request(s, { ':path': '/' });
        expect(next.status).toBe(200);
        const line = p.logs.find((l) => l.msg === 'request' && l.path === '/dies');
        expect(line?.error).toBe('LPX_UPSTREAM_RESET');
      } finally { s.close(); }
    });

    it('on shutdown sends GOAWAY and lets a stream under way finish', async () => {
      const s = h2Connect(p.port, NAME, t.ca);
      const goaway = new Promise<boolean>((resolve) => { s.once('goaway', () => resolve(true)); setTimeout(() => resolve(false), 5000); });
      const slow = h2Request(s, { ':path': '/slow' });
      await new Promise((r) => setTimeout(r, 100));
      const stopped = p.close();
      const r = await slow;
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('slow done');
      expect(await goaway).toBe(true);
      await stopped;
      s.close();
    });
  });
});
