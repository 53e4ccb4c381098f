/**
 * The built-in demo behind `npm start`: a small HTTP backend for every backend the demo
 * script lists, each answering with its own name, so a newcomer sees routing work with
 * no servers of their own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoBackend {
  name: string;
  server: http.Server;
  port: number;
}

export async function startDemoBackend(name: string, host: string, port: number): Promise<DemoBackend> {
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('end', () => {
      const body = JSON.stringify({ backend: name, host: req.headers.host ?? null, path: req.url, method: req.method, body_bytes: bytes, forwarded_for: req.headers['x-forwarded-for'] ?? null }) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`demo backend ${name} cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`)));
    server.listen(port, host, () => resolve());
  });
  return { name, server, port: (server.address() as AddressInfo).port };
}
