/**
 * Upgrade requests never tunnel past routing: a WebSocket upgrade is spliced only when
 * the backend answers 101; `Upgrade: h2c` (and any protocol the config does not allow)
 * goes to the backend as an ordinary request without its Upgrade headers, and a backend
 * that answers 101 anyway gets no tunnel. Whatever the client sends after a refused
 * upgrade (an HTTP/2 preface, a request for /admin) never reaches the backend.
 */
import { describe, it, expect, afterAll } from 'vitest';
import net from 'node:net';
import { spawnProxy, type ProxyProcess } from './lib/proxy-process.js';
import { rawBackend, OK, header, type RawBackend, type RawConn, type Message } from './lib/raw-backend.js';
import { figure, atMost } from './lib/report.js';
import { pick, sleep } from './lib/mode.js';

const S = 'upgrades';
const ROUNDS = pick(5, 20);
const WS = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
const H2C = 'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\n';
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/** send a request, then (after the answer) more bytes; return all the client saw */
function exchange(port: number, req: string, after: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    let sentAfter = false;
    const s = net.connect(port, '127.0.0.1', () => s.write(req));
    const t = setTimeout(() => s.destroy(), 1000);
    s.on('data', (c) => {
      text += c.toString('latin1');
      if (!sentAfter && text.includes('\r\n\r\n')) { sentAfter = true; s.write(after); }
    });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(t); resolve(text); });
  });
}

describe('upgrades pass only on 101 and never tunnel past routing', () => {
  let proxy: ProxyProcess | null = null;
  let backend: RawBackend | null = null;
  afterAll(async () => { await proxy?.stop(); await backend?.close(); });

  it(`WebSocket, h2c and refused upgrades, ${ROUNDS} rounds`, async () => {
    backend = await rawBackend((c: RawConn, m: Message) => {
      if (m.target === '/ws' && header(m, 'upgrade') === 'websocket') {
        c.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
        c.tunnel = (d) => c.socket.write(Buffer.concat([Buffer.from('echo:'), d]));
      } else if (m.target === '/evil101') {
        // a backend that switches protocols although nobody asked it to
        c.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n');
        c.tunnel = () => {};
      } else {
        c.socket.write(OK(`ok ${m.target}`));
      }
    });
    proxy = await spawnProxy(`backends = { "${backend.url}" }
function route(host, path)
  if path:find("^/admin") then return { status = 403, body = "forbidden" } end
  return proxy.hash(host)
end
`);
    const wrong: string[] = [];
    let tunnels = 0;
    for (let r = 0; r < ROUNDS; r++) {
      // 1. a WebSocket upgrade the backend accepts: a working tunnel
      const ws = await exchange(proxy.port, `GET /ws HTTP/1.1\r\nHost: app.example\r\n${WS}\r\n`, 'hello');
      if (!ws.startsWith('HTTP/1.1 101') || !ws.endsWith('echo:hello')) wrong.push(`websocket: ${JSON.stringify(ws.slice(0, 60))}`);
      else tunnels++;
      // 2. a WebSocket upgrade the backend refuses (200): no tunnel; what follows is not forwarded
      const refused = await exchange(proxy.port, `GET /plain HTTP/1.1\r\nHost: app.example\r\n${WS}\r\n`, `GET /admin HTTP/1.1\r\nHost: app.example\r\n\r\n`);
      if (!refused.startsWith('HTTP/1.1 200')) wrong.push(`refused websocket: ${JSON.stringify(refused.slice(0, 60))}`);
      // 3. h2c: forwarded without its Upgrade headers; the HTTP/2 preface after it goes nowhere
      const h2c = await exchange(proxy.port, `GET /h2c HTTP/1.1\r\nHost: app.example\r\n${H2C}\r\n`, PREFACE);
      if (!h2c.startsWith('HTTP/1.1 200')) wrong.push(`h2c: ${JSON.stringify(h2c.slice(0, 60))}`);
      // 4. h2c to a backend that answers 101 anyway: the client gets no tunnel
      const evil = await exchange(proxy.port, `GET /evil101 HTTP/1.1\r\nHost: app.example\r\n${H2C}\r\n`, PREFACE + 'GET /admin HTTP/1.1\r\n\r\n');
      if (evil.startsWith('HTTP/1.1 101')) wrong.push(`a 101 nobody asked for reached the client: ${JSON.stringify(evil.slice(0, 60))}`);
      // 5. an upgrade to a path the script answers itself
      const denied = await exchange(proxy.port, `GET /admin HTTP/1.1\r\nHost: app.example\r\n${WS}\r\n`, 'hello');
      if (!denied.startsWith('HTTP/1.1 403')) wrong.push(`denied upgrade: ${JSON.stringify(denied.slice(0, 60))}`);
      // 6. a WebSocket upgrade on POST is not an upgrade
      const post = await exchange(proxy.port, `POST /postws HTTP/1.1\r\nHost: app.example\r\nContent-Length: 0\r\n${WS}\r\n`, 'hello');
      if (post.startsWith('HTTP/1.1 101')) wrong.push(`POST upgraded: ${JSON.stringify(post.slice(0, 60))}`);
    }
    await sleep(200);
    for (const m of backend.messages) {
      if (/admin/.test(m.target)) wrong.push(`/admin reached the backend`);
      // WebSocket is allowed (the backend decides with 101 or not); nothing else may ask to upgrade
      if ((header(m, 'upgrade') && header(m, 'upgrade') !== 'websocket') || header(m, 'http2-settings')) wrong.push(`${m.target} reached the backend with Upgrade ${header(m, 'upgrade')}`);
    }
    for (const c of backend.conns) {
      const t = c.tunnelled?.toString('latin1') ?? '';
      if (/PRI \*|admin/.test(t) || /PRI \*|admin/.test(c.bytes.toString('latin1'))) wrong.push(`bytes after a refused upgrade reached the backend: ${JSON.stringify((t || c.bytes.toString('latin1')).slice(0, 60))}`);
    }
    figure(S, 'upgrade attempts', ROUNDS * 6);
    figure(S, 'WebSocket tunnels that worked', tunnels, `of ${ROUNDS}`);
    atMost(S, 'tunnels past routing or wrong answers', wrong.length, 0);
    expect([...new Set(wrong)]).toEqual([]);
    expect(tunnels).toBe(ROUNDS);
    expect(proxy.exited).toBeNull();
  });
});
