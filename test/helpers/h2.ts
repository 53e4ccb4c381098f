/** HTTP/2 test set-up: a test CA and certificate made at test time, and one-request helpers for node's http2 client. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http2 from 'node:http2';
import { makeCA, makeCert } from '../../src/tls/self-signed.js';

export interface TlsFiles {
  dir: string;
  /** the CA's PEM, to trust */
  ca: string;
  caFile: string;
  /** Lua: a TLS listener on a free port and the tls table for `name` */
  listen(extra?: string): string;
}

export async function tlsFiles(name: string): Promise<TlsFiles> {
  const ca = await makeCA();
  const cert = await makeCert({ ca, names: [name] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-h2-'));
  fs.writeFileSync(path.join(dir, 'c.pem'), cert.chain ?? cert.cert);
  fs.writeFileSync(path.join(dir, 'c.key'), cert.key);
  const caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, ca.cert);
  return {
    dir, ca: ca.cert, caFile,
    listen: (extra = '') => `listen = { { address = "127.0.0.1:0", tls = true${extra} } }
tls = { certificates = { { cert = "${path.join(dir, 'c.pem')}", key = "${path.join(dir, 'c.key')}" } }, default = "${name}" }
`,
  };
}

/** an http2 session to 127.0.0.1:`port` with SNI `name`, trusting `ca`; requests carry :authority `name` unless they give one */
export function h2Connect(port: number, name: string, ca: string, opts: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
  const s = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: name, ...opts });
  const request = s.request.bind(s);
  s.request = ((headers: http2.OutgoingHttpHeaders = {}, o?: http2.ClientSessionRequestOptions) => request({ ':authority': name, ...headers }, o)) as typeof s.request;
  return s;
}

export interface H2Reply { status: number; headers: http2.IncomingHttpHeaders; body: Buffer }

/** one request on `session`; rejects on a stream error (a reset) */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    const parts: Buffer[] = [];
    let h: http2.IncomingHttpHeaders = {};
    req.on('response', (r) => { h = r; });
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ status: Number(h[':status']), headers: h, body: Buffer.concat(parts) }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}
