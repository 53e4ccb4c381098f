import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import net from 'node:net';
import crypto from 'node:crypto';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';

/** connect, send an upgrade request, then `after` bytes once the 101 arrived; collect what comes back */
function upgrade(port: number, request: string, after: string | null, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    let sent = false;
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    s.on('data', (c) => {
      got += c.toString('latin1');
      if (!sent && after !== null && got.includes('\r\n\r\n') && got.startsWith('HTTP/1.1 101')) { sent = true; s.write(after); }
    });
    const done = () => { s.destroy(); resolve(got); };
    s.on('close', done);
    s.on('error', done);
    setTimeout(done, ms);
  });
}

describe('upgrades pass only when the backend answers 101 to an allowed protocol', () => {
  let ws: TestBackend, plain: TestBackend, p: TestProxy;
  const upgradesSeen: string[] = [];
  beforeAll(async () => {
    ws = await startBackend('ws');
    ws.server.on('upgrade', (req, socket) => {
      upgradesSeen.push(String(req.headers.upgrade));
      const accept = crypto.createHash('sha1').update(String(req.headers['sec-websocket-key']) + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    plain = await startBackend('plain'); // no 'upgrade' listener: node answers like a plain server would not upgrade
    p = await startProxy(luaBackends([ws, plain]) + `
function route(host, path)
  if host == "plain" then return "plain" end
  return "ws"
end`);
  });
  afterAll(async () => { await p.close(); await ws.close(); await plain.close(); });

  const wsRequest = (host: string) => `GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  it('tunnels a WebSocket both ways after the backend answers 101', async () => {
    const got = await upgrade(p.port, wsRequest('chat.example'), 'hello');
    expect(got.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
    expect(got).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(got.endsWith('echo:hello')).toBe(true);
  });

  it('never forwards Upgrade: h2c, so no tunnel opens past routing', async () => {
    const before = upgradesSeen.length;
    const got = await upgrade(p.port, 'GET / HTTP/1.1\r\nHost: chat.example\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\n');
    expect(got.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(upgradesSeen.length).toBe(before); // the backend never saw an upgrade request
    const seen = ws.seen.at(-1)!;
    expect(seen.headers.upgrade).toBeUndefined();
    expect(seen.headers['http2-settings']).toBeUndefined();
  });

  it('answers a refused upgrade as a plain response and closes, without a tunnel', async () => {
    const got = await upgrade(p.port, wsRequest('plain'), 'should-not-echo');
    expect(got.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(got).not.toContain('echo:');
  });
});

describe('route answering an upgrade request directly', () => {
  it('sends the script\'s own status, headers and body, then closes', async () => {
    const { startProxy } = await import('./helpers/proxy.js');
    const p = await startProxy(`function route(host, path) return { status = 403, headers = { ["x-why"] = "no sockets here" }, body = "denied\\n" } end`);
    try {
      const got = await upgrade(p.port, 'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', null);
      expect(got.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
      expect(got).toContain('x-why: no sockets here');
      expect(got).not.toContain('x-luaproxy-error');
      expect(got.endsWith('\r\n\r\ndenied\n')).toBe(true);
    } finally {
      await p.close();
    }
  });
});
