/**
 * A backend that resets the connection in the middle of a response body: the client
 * connection is closed so the truncation shows, the request is never retried once part
 * of the response went out, and the failure counts against the backend.
 */
import { describe, it, expect } from 'vitest';
import http from 'node:http';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';

describe('a backend that resets mid-body', () => {
  it('truncates the client response visibly, never retries, and counts the failure', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const p = await startProxy(luaBackends([a, b]) + `
health = { interval = 0 }
function route(host, path) return "a" end`);
    try {
      const outcome = await new Promise<string>((resolve) => {
        http.get({ host: '127.0.0.1', port: p.port, path: '/reset', headers: { host: 'x' }, agent: false }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => { n += c.length; });
          res.on('end', () => resolve(`complete ${n}`));
          res.on('error', () => resolve(`error after ${n}`));
          res.on('aborted', () => resolve(`aborted after ${n}`));
        }).on('error', (e) => resolve(`request error ${e.message}`));
      });
      expect(outcome).toMatch(/^(error|aborted) after 1000$/);
      await new Promise((r) => setTimeout(r, 50));
      expect(a.seen.filter((s) => s.url === '/reset')).toHaveLength(1);
      expect(b.seen).toHaveLength(0);
      const st = p.running.config.backendSet.byName.get('a')!;
      expect(st.failures).toBe(1);
      expect(st.lastError).toBe('LPX_UPSTREAM_RESET');
    } finally {
      await p.close();
      await a.close();
      await b.close();
    }
  });
});
