import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';

/** a WebSocket backend that completes the handshake and then echoes every byte back */
async function echoBackend(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.end('not a websocket'));
  server.on('upgrade', (req, socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nx-backend: ws\r\n\r\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** open a WebSocket through the proxy by hand; resolves with the socket after the 101 */
function openWs(port: number): Promise<{ socket: net.Socket; head: string; echo(text: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    const t = setTimeout(() => { socket.destroy(); reject(new Error('no handshake answer')); }, 5000);
    socket.on('error', reject);
    socket.on('data', function onHead(c: Buffer) {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(t);
      socket.removeListener('data', onHead);
      resolve({
        socket,
        head: buf.slice(0, end),
        echo: (text) => new Promise((res, rej) => {
          let got = '';
          const timer = setTimeout(() => rej(new Error(`no echo of ${text}`)), 5000);
          const onData = (d: Buffer) => {
            got += d.toString();
            if (got.length >= text.length) { clearTimeout(timer); socket.removeListener('data', onData); res(got); }
          };
          socket.on('data', onData);
          socket.write(text);
        }),
      });
    });
    socket.write(`GET /chat HTTP/1.1\r\nHost: chat.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

describe('a WebSocket opened before reloads', () => {
  let a: TestBackend, ws: Awaited<ReturnType<typeof echoBackend>>, p: TestProxy, client: net.Socket | null = null;
  afterEach(async () => { client?.destroy(); await p?.close(); await a?.close(); await ws?.close(); });

  it('still echoes after good and refused reloads, even once its backend left the config', async () => {
    [a, ws] = await Promise.all([startBackend('a'), echoBackend()]);
    const both = luaBackends([a, { name: 'ws', url: ws.url }]);
    p = await startProxy(both + 'function route(h, p) if h == "chat.example.com" then return "ws" end return "a" end');
    const conn = await openWs(p.port);
    client = conn.socket;
    expect(conn.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(await conn.echo('before')).toBe('before');

    const scripts = [
      both + 'function route(h, p) return "a" end',
      both + 'function route(h, p) return "a" en',
      luaBackends([a]) + 'function route(h, p) return "a" end',
      luaBackends([a]) + 'function route(h, p) return "ws" end',
    ];
    for (const [i, s] of scripts.entries()) {
      p.write(s);
      await p.running.reloader.reload('test');
      expect(await conn.echo(`after reload ${i}`)).toBe(`after reload ${i}`);
    }
    await new Promise((r) => setTimeout(r, 300)); // the dropped backend's pool has closed by now
    expect(await conn.echo('at the end')).toBe('at the end');
    expect(p.running.reloader.counts).toEqual({ ok: 2, refused: 2 });
    expect(p.running.server.openTunnels).toBe(1);
  });
});
