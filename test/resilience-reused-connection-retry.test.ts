/**
 * The keep-alive race: a backend closes a pooled connection just as the proxy reuses
 * it, before sending any byte. An idempotent request without a body is retried once on
 * a fresh connection and succeeds; a POST is not retried and gets 502.
 */
import { describe, it, expect } from 'vitest';
import type { Socket } from 'node:net';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';

describe('a reused keep-alive connection closed by the backend before any byte', () => {
  it('retries a GET once on a fresh connection, and does not retry a POST', async () => {
    const perSocket = new WeakMap<Socket, number>();
    let answered = 0;
    const a = await startBackend('a', (req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n >= 2) { req.socket.destroy(); return; } // the second request on a connection: close it unanswered
      req.resume();
      req.on('end', () => { answered++; res.writeHead(200, { 'x-backend': 'a', connection: 'keep-alive' }); res.end('ok'); });
    });
    const p = await startProxy(luaBackends([a]) + `
health = { interval = 0 }
function route(host, path) return "a" end`);
    try {
      // a POST on a reused connection that the backend closes: not retried
      expect((await get(p.url + '/one', { host: 'x' })).status).toBe(200);
      const post = await get(p.url + '/post', { host: 'x', method: 'POST', body: 'payload' });
      expect(post.status).toBe(502);
      expect(post.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_RESET');
      // a GET on a reused connection that the backend closes: retried once, on a fresh one
      expect((await get(p.url + '/three', { host: 'x' })).status).toBe(200);
      const r = await get(p.url + '/get', { host: 'x' });
      expect(r.status).toBe(200);
      expect(a.seen.map((s) => s.url)).toEqual(['/one', '/post', '/three', '/get', '/get']);
      expect(answered).toBe(3);
      const line = p.logs.find((l) => l.msg === 'request' && l.path === '/get');
      expect(line?.retries).toBe(1);
    } finally {
      await p.close();
      await a.close();
    }
  });
});
