/**
 * An https backend for tests: a node https server with a given certificate, on port 0 of
 * `host`, that answers every request with its name and records the SNI of each
 * handshake that sent one (at the ClientHello, so a handshake the client later gives
 * up on is recorded too).
 */
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import type { Issued } from '../../src/tls/self-signed.js';

export interface HttpsBackend {
  port: number;
  /** the SNI of each handshake, in order */
  sni: string[];
  close(): Promise<void>;
}

export async function startHttpsBackend(name: string, cert: Issued, host = '127.0.0.1'): Promise<HttpsBackend> {
  const sni: string[] = [];
  const sockets = new Set<Socket>();
  const ctx = tls.createSecureContext({ cert: cert.chain ?? cert.cert, key: cert.key });
  const SNICallback = (name: string, cb: (err: Error | null, c: tls.SecureContext) => void) => { sni.push(name); cb(null, ctx); };
  const server = https.createServer({ cert: cert.chain ?? cert.cert, key: cert.key, SNICallback }, (_req, res) => {
    res.writeHead(200, { 'x-backend': name, 'content-type': 'text/plain' });
    res.end(name);
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sni,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}
