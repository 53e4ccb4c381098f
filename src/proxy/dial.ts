/**
 * Opening one connection to a backend, as its entry says: TCP, then for https a TLS
 * handshake verified against node's CAs or the entry's `ca`, for the entry's
 * `servername` (else the URL's host), and for `proxy_protocol` a PROXY header first on
 * the wire, before TLS. Failures carry the codes src/proxy/classify.ts maps: the socket's
 * own (ECONNREFUSED...) before TCP connects, LPX_UPSTREAM_TLS for a failed handshake,
 * LPX_UPSTREAM_CONNECT_TIMEOUT when the whole took longer than the connect timeout.
 */
import net, { type Socket, type OnReadOpts } from 'node:net';
import tls from 'node:tls';
import type { BackendOptions } from '../config/backend-options.js';
import type { ErrorCode } from '../core/errors.js';

/** what a pool dials: a backend entry (src/config/load.ts BackendSpec), or just an origin with the default options */
export type PoolTarget = { readonly origin: string } & Partial<BackendOptions>;

export class Dialer {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  /** for https: how the handshake verifies the backend */
  private readonly tlsOptions: tls.ConnectionOptions | null;

  constructor(target: PoolTarget, private readonly connectMs: number) {
    const u = new URL(target.origin);
    this.secure = u.protocol === 'https:';
    this.host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    this.port = Number(u.port || (this.secure ? 443 : 80));
    this.tlsOptions = this.secure
      ? {
        host: this.host, // the name verified when there is no servername
        servername: target.servername ?? (net.isIP(this.host) ? undefined : this.host),
        rejectUnauthorized: target.verify ?? true,
        // made once per pool: the CA file is parsed once, not per handshake
        secureContext: tls.createSecureContext(target.ca ? { ca: target.ca.pem } : {}),
        ALPNProtocols: ['http/1.1'],
      }
      : null;
  }

  /**
   * Connect; `done` is called once, with the socket ready for the request (the TLS socket
   * for https) or with the error. `onread` (plain TCP only) reads into the caller's buffers.
   */
  dial(preface: Buffer | null, onread: OnReadOpts | null, done: (err: Error | null, socket: Socket | null) => void): void {
    const raw = onread === null || this.secure
      ? net.connect({ host: this.host, port: this.port })
      : net.connect({ host: this.host, port: this.port, onread });
    raw.setNoDelay(true);
    // plain: the header is the first write, queued until the connection is made
    if (preface !== null && !this.secure) raw.write(preface);
    /** the socket handed out (the TLS one once the handshake started) */
    let socket: Socket = raw;
    let timer: NodeJS.Timeout | null = null;
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      raw.removeListener('error', onError);
      raw.removeListener('connect', onConnect);
      socket.removeListener('error', onTlsError);
      socket.removeListener('secureConnect', onSecure);
      if (err) {
        // a late error from the abandoned socket must not go uncaught
        socket.on('error', () => {});
        raw.on('error', () => {});
        socket.destroy();
        raw.destroy();
        done(err, null);
        return;
      }
      done(null, socket);
    };
    const onError = (e: Error) => finish(e);
    const onTlsError = (e: Error) => finish(tlsFault(e, this.host, this.port, this.tlsOptions!.servername));
    const onSecure = () => finish(null);
    const startTls = () => {
      if (settled) return;
      raw.removeListener('error', onError);
      raw.on('error', () => {}); // from here on the TLS socket reports the connection's errors
      socket = tls.connect({ ...this.tlsOptions!, socket: raw });
      socket.once('error', onTlsError);
      socket.once('secureConnect', onSecure);
    };
    const onConnect = () => {
      if (!this.secure) { finish(null); return; }
      // the PROXY header goes before the TLS handshake, in clear, as the backend reads it first
      if (preface !== null) raw.write(preface, (e) => (e ? finish(e) : startTls()));
      else startTls();
    };
    raw.once('error', onError);
    raw.once('connect', onConnect);
    if (this.connectMs > 0) {
      timer = setTimeout(() => finish(Object.assign(new Error(`no connection within ${this.connectMs} ms`), { code: 'LPX_UPSTREAM_CONNECT_TIMEOUT' satisfies ErrorCode })), this.connectMs);
    }
  }
}

/** a failed TLS handshake with a backend, as a connect failure (src/proxy/classify.ts retries it on the next candidate) */
function tlsFault(e: Error, host: string, port: number, servername: string | undefined): Error {
  const why = (e as NodeJS.ErrnoException).code;
  return Object.assign(
    new Error(`TLS handshake with ${host}:${port} (server name ${servername ?? host}) failed: ${e.message}${why && !e.message.includes(why) ? ` [${why}]` : ''}`, { cause: e }),
    { code: 'LPX_UPSTREAM_TLS' satisfies ErrorCode },
  );
}
