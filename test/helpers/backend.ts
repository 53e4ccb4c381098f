/**
 * Real HTTP backends on 127.0.0.1:0 for tests. Each names itself in `x-backend` and
 * misbehaves on purpose on a few paths:
 *   /big?bytes=N   N bytes of a deterministic pattern     /stall   never answers
 *   /reset         headers and part of a body, then a TCP reset
 *   /slow?ms=N     answers after N ms                      /status/N  answers status N
 *   /echo          echoes method, url, headers and body length as JSON
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255;
  return b;
}

export interface TestBackend {
  name: string;
  port: number;
  url: string;
  server: http.Server;
  /** requests seen, in order */
  seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; rawHeaders: string[] }>;
  close(): Promise<void>;
}

/** `port` 0 picks a free one; a fixed port brings a closed backend back where it was */
export async function startBackend(name: string, handler?: http.RequestListener, port = 0): Promise<TestBackend> {
  const seen: TestBackend['seen'] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    if (handler) return handler(req, res);
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/stall') return;
    if (u.pathname === '/reset') {
      res.writeHead(200, { 'content-length': 100000, 'x-backend': name });
      res.write(pattern(1000));
      setTimeout(() => req.socket.resetAndDestroy(), 20);
      return;
    }
    if (u.pathname === '/big') {
      const b = pattern(Number(u.searchParams.get('bytes') ?? 1 << 20));
      res.writeHead(200, { 'content-length': b.length, 'x-backend': name });
      res.end(b);
      return;
    }
    const m = /^\/status\/(\d+)$/.exec(u.pathname);
    if (m) { res.writeHead(Number(m[1]), { 'x-backend': name }); res.end(); return; }
    let bytes = 0;
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('end', () => {
      const send = () => {
        const body = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, bodyBytes: bytes });
        res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
        res.end(body);
      };
      if (u.pathname === '/slow') setTimeout(send, Number(u.searchParams.get('ms') ?? 1000));
      else send();
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const bound = (server.address() as AddressInfo).port;
  return {
    name, port: bound, url: `http://127.0.0.1:${bound}`, server, seen,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** a port with nothing listening on it (opened, then closed) */
export async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
