/**
 * Regression (issue #8, found by the reliability suite): when a backend reset the
 * connection in the middle of a body without a length (close-delimited), undici took the
 * reset for the body's end and the proxy sent the client a complete-looking response.
 * The truncation must show: no last chunk for an HTTP/1.1 client, a reset for HTTP/1.0.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startProxy, type TestProxy } from './helpers/proxy.js';

function send(port: number, data: string): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    let reset = false;
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    const t = setTimeout(() => s.destroy(), 3000);
    s.on('data', (c) => { text += c.toString('latin1'); });
    s.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'ECONNRESET') reset = true; });
    s.on('close', () => { clearTimeout(t); resolve({ text, reset }); });
  });
}

describe('a backend reset inside a body without a length is not passed on as a complete response', () => {
  let backend: net.Server, p: TestProxy;
  beforeAll(async () => {
    backend = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => {
        sock.write(`HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n${'b'.repeat(1000)}`);
        setTimeout(() => sock.resetAndDestroy(), 30);
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const port = (backend.address() as AddressInfo).port;
    p = await startProxy(`backends = { "http://127.0.0.1:${port}" }\nfunction route() return "127.0.0.1:${port}" end\n`);
  });
  afterAll(async () => { await p.close(); await new Promise((r) => backend.close(r)); });

  it('HTTP/1.1 client: the chunked response never gets its last chunk', async () => {
    const r = await send(p.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(r.text).toContain('b'.repeat(100));
    expect(r.text.endsWith('0\r\n\r\n')).toBe(false);
  });

  it('HTTP/1.0 client: the connection is reset, not closed cleanly', async () => {
    const r = await send(p.port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(r.reset).toBe(true);
  });
});
