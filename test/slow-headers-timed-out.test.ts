/**
 * Regression (issue #8, found by the reliability suite): a client that takes too long over
 * its request head must be closed at timeouts.client_header. Node enforced that only on a
 * sweep every 30 s, and not at all for a connection that sends nothing or stalls inside
 * its first request head, so such connections stayed open indefinitely.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import net from 'node:net';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';

type Kind = 'trickle' | 'silent' | 'stalled';

/** seconds until the proxy closed the connection (15 at most), and what it answered */
function openFor(port: number, kind: Kind): Promise<{ s: number; reply: string }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let reply = '';
    const s = net.connect(port, '127.0.0.1', () => {
      if (kind === 'silent') return;
      s.write('GET / HTTP/1.1\r\nHost: x\r\n');
      if (kind === 'stalled') return;
      const tick = setInterval(() => s.write('X-A: b\r\n'), 200);
      s.once('close', () => clearInterval(tick));
    });
    const cap = setTimeout(() => s.destroy(), 15_000);
    s.on('data', (c) => { reply += c; });
    s.on('error', () => s.destroy());
    s.on('close', () => { clearTimeout(cap); resolve({ s: (Date.now() - t0) / 1000, reply: reply.split('\r\n')[0] }); });
  });
}

describe('clients that send their request head too slowly are closed at client_header', () => {
  let a: TestBackend, p: TestProxy;
  beforeAll(async () => {
    a = await startBackend('a');
    p = await startProxy(luaBackends([a]) + 'timeouts = { client_header = 1 }\nfunction route() return "a" end\n');
  });
  afterAll(async () => { await p.close(); await a.close(); });

  it('closes a slowloris client, a silent connection and a stalled head within a few seconds, with 408', async () => {
    const [trickle, silent, stalled] = await Promise.all((['trickle', 'silent', 'stalled'] as const).map((k) => openFor(p.port, k)));
    for (const r of [trickle, silent, stalled]) {
      expect(r.s).toBeLessThan(4);
      expect(r.reply).toBe('HTTP/1.1 408 Request Timeout');
    }
  });
});
