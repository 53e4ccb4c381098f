/** One HTTPS request for TLS tests: which certificate the client got, and the answer. */
import https from 'node:https';
import type tls from 'node:tls';

export interface HttpsReply {
  status: number;
  body: string;
  /** the serial and SHA-256 fingerprint of the certificate the proxy sent */
  serial: string;
  fingerprint: string;
}

/** GET `path` on 127.0.0.1:`port` with SNI `servername` (none when undefined), trusting `ca`; `check: false` skips the name check */
export function httpsGet(o: { port: number; servername: string | undefined; ca: string; host: string; path?: string; check?: boolean }): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: o.port, path: o.path ?? '/', servername: o.servername, ca: o.ca, headers: { host: o.host }, agent: false,
      ...(o.check === false ? { checkServerIdentity: () => undefined } : {}),
    }, (res) => {
      const cert = (res.socket as tls.TLSSocket).getPeerX509Certificate();
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial: cert?.serialNumber ?? '', fingerprint: cert?.fingerprint256 ?? '' }));
    });
    req.on('error', reject);
    req.end();
  });
}
