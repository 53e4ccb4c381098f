import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import crypto from 'node:crypto';
import { startBackend, pattern, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';

const TOTAL = 48 * 1024 * 1024;
const CHUNK = 64 * 1024;

describe('bodies stream with backpressure and arrive intact', () => {
  let big: TestBackend, p: TestProxy;
  let written = 0;
  beforeAll(async () => {
    big = await startBackend('big', (req, res) => {
      if (req.url?.startsWith('/big')) {
        const b = pattern(5_000_000);
        res.writeHead(200, { 'content-length': b.length });
        res.end(b);
        return;
      }
      // a fast backend that honours backpressure: it writes only as fast as the proxy takes
      written = 0;
      res.writeHead(200, { 'content-length': TOTAL });
      const chunk = pattern(CHUNK);
      const pump = () => {
        while (written < TOTAL) {
          written += CHUNK;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    p = await startProxy(luaBackends([big]) + 'function route(h, p) return "big" end');
  });
  afterAll(async () => { await p.close(); await big.close(); });

  it('delivers 5 MB byte for byte', async () => {
    const sum = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: p.port, path: '/big', headers: { host: 'x' }, agent: false }, (res) => {
        const h = crypto.createHash('sha256');
        res.on('data', (c) => h.update(c));
        res.on('end', () => resolve(h.digest('hex')));
      }).on('error', reject);
    });
    expect(sum).toBe(crypto.createHash('sha256').update(pattern(5_000_000)).digest('hex'));
  });

  it('slows the backend down to a slow reader instead of buffering the response', async () => {
    const result = await new Promise<{ aheadWhilePaused: number; received: number; ok: boolean }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: p.port, path: '/stream', headers: { host: 'x' }, agent: false }, (res) => {
        let received = 0;
        const h = crypto.createHash('sha256');
        const expect = crypto.createHash('sha256');
        const chunk = pattern(CHUNK);
        for (let i = 0; i < TOTAL / CHUNK; i++) expect.update(chunk);
        res.on('data', (c: Buffer) => { received += c.length; h.update(c); });
        res.pause();
        // the client reads nothing for a while: how far can the backend get ahead?
        setTimeout(() => {
          const aheadWhilePaused = written - received;
          res.resume();
          res.on('end', () => resolve({ aheadWhilePaused, received, ok: h.digest('hex') === expect.digest('hex') }));
        }, 1500);
      }).on('error', reject);
    });
    expect(result.received).toBe(TOTAL);
    expect(result.ok).toBe(true);
    // kernel socket buffers on both legs plus the proxy's own small buffers; far below the 48 MB body
    expect(result.aheadWhilePaused).toBeLessThan(16 * 1024 * 1024);
  });

  it('streams a large upload without buffering it whole', async () => {
    const up = await startBackend('up');
    const q = await startProxy(luaBackends([up]) + 'function route(h, p) return "up" end');
    try {
      const size = 20 * 1024 * 1024;
      const reply = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: q.port, method: 'POST', path: '/upload', headers: { host: 'x', 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
          let s = '';
          res.on('data', (c) => { s += c; });
          res.on('end', () => resolve(s));
        });
        req.on('error', reject);
        const c = pattern(CHUNK);
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            sent += CHUNK;
            if (!req.write(c)) return req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(JSON.parse(reply).bodyBytes).toBe(size);
    } finally {
      await q.close();
      await up.close();
    }
  });
});
