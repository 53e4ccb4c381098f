/**
 * The traffic listeners of one process, one net.Server per address of `listen`, and the
 * intake of each connection before HTTP starts: the PROXY protocol header when the
 * listener asks for one (read first, in clear, with a deadline), then TLS when the
 * listener terminates it. A listener is known by its address across reloads: a reload
 * binds new addresses before it lets go of old ones, and a listener that stays keeps its
 * socket while its options (TLS, PROXY protocol) follow the live config per connection.
 */
import net, { type Socket, type AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../core/logger.js';
import type { Config, ListenerSpec } from '../config/load.js';
import type { Arrival } from '../routing/call.js';
import { parseProxyHeader, MAX_PROXY_HEADER } from '../http1/proxy-protocol.js';

/** a connection that made it through intake: plain or TLS, with the client's address */
export interface Accepted {
  socket: Socket;
  /** the client's address: the socket's peer, or what the PROXY header says */
  remote: string;
  /** the client's port, from the same place */
  remotePort: number;
  /** null for plain HTTP; for TLS, filled in once the handshake is done */
  tls: boolean;
  /** the client chose HTTP/2 by ALPN (the handshake is done) */
  h2?: boolean;
}

export interface IntakeOwner {
  readonly config: Config;
  readonly closing: boolean;
  accepted(c: Accepted): void;
  /** a connection failed before HTTP: a bad PROXY header, a TLS handshake that failed */
  refused(kind: 'proxy_protocol' | 'tls', why: string, peer: string): void;
}

interface Listener {
  spec: ListenerSpec;
  server: net.Server;
}

const ALPN_H2 = ['h2', 'http/1.1'];
const ALPN_H1 = ['http/1.1'];

/** a context with no certificate: a handshake with it fails (no default certificate, no SNI match) */
let NO_CERT: tls.SecureContext | null = null;

export class Listeners {
  private live = new Map<string, Listener>();
  private readonly retiring = new Set<net.Server>();

  constructor(private readonly owner: IntakeOwner, private readonly log: Logger, private readonly hwm: number) {}

  /** the first listener's address (the one tests and most configs have) */
  get address(): AddressInfo | null {
    const first = this.live.values().next().value as Listener | undefined;
    return (first?.server.address() as AddressInfo | null) ?? null;
  }

  /** every listener's bound address, in the script's order */
  addresses(): Array<{ spec: ListenerSpec; address: AddressInfo }> {
    return [...this.live.values()].map((l) => ({ spec: l.spec, address: l.server.address() as AddressInfo }));
  }

  get servers(): net.Server[] {
    return [...[...this.live.values()].map((l) => l.server), ...this.retiring];
  }

  /**
   * Make the listeners those of `cfg`: bind the addresses not bound yet (all or none: on
   * a failure the ones just bound are closed and this throws), then let go of the ones
   * `cfg` no longer lists (their open connections stay).
   */
  async apply(cfg: Config): Promise<void> {
    // a listener on port 0 is also known by the port it got: a script that names that port keeps it
    const byBound = new Map<string, Listener>();
    for (const l of this.live.values()) {
      const a = l.server.address() as AddressInfo | null;
      if (a) byBound.set(`${l.spec.key.slice(0, l.spec.key.lastIndexOf(':'))}:${a.port}`, l);
    }
    const existing = (spec: ListenerSpec) => this.live.get(spec.key) ?? byBound.get(spec.key);
    const fresh = new Map<string, Listener>();
    try {
      for (const spec of cfg.listeners) if (!existing(spec)) fresh.set(spec.key, await this.bind(spec, cfg));
    } catch (e) {
      for (const l of fresh.values()) l.server.close();
      throw e;
    }
    const next = new Map<string, Listener>();
    const kept = new Set<Listener>();
    for (const spec of cfg.listeners) {
      const l = existing(spec) ?? fresh.get(spec.key)!;
      kept.add(l);
      l.spec = spec; // a listener that stays takes the new options for its next connections
      l.server.maxConnections = cfg.settings.limits.client_connections;
      next.set(spec.key, l);
    }
    for (const l of this.live.values()) {
      if (kept.has(l)) continue;
      this.retiring.add(l.server);
      l.server.close(() => this.retiring.delete(l.server));
    }
    this.live = next;
  }

  /** stop accepting on every listener */
  close(): void {
    for (const s of this.servers) s.close();
  }

  private bind(spec: ListenerSpec, cfg: Config): Promise<Listener> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: this.hwm });
    server.maxConnections = cfg.settings.limits.client_connections;
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        server.removeListener('listening', onListening);
        const why = e.code === 'EADDRINUSE' ? 'the address is already in use' : e.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : e.code === 'EADDRNOTAVAIL' ? 'the address is not on this machine' : e.message;
        reject(Object.assign(new Error(`cannot listen on ${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}: ${why}`), { code: e.code, cause: e }));
      };
      const onListening = () => {
        server.removeListener('error', onError);
        server.on('error', (e) => this.log.error({ err: e, listen: spec.key }, 'listener error'));
        const l: Listener = { spec, server };
        server.on('connection', (s: Socket) => this.intake(s, l));
        resolve(l);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host: spec.host, port: spec.port, backlog: 1024 });
    });
  }

  private intake(socket: Socket, l: Listener): void {
    if (this.owner.closing) { socket.destroy(); return; }
    const spec = l.spec;
    if (spec.proxyProtocol) this.readProxyHeader(socket, spec);
    else this.admit(socket, spec, socket.remoteAddress ?? '', socket.remotePort ?? 0);
  }

  /** the PROXY header comes first, in clear, within the client header timeout; anything else closes the connection */
  private readProxyHeader(socket: Socket, spec: ListenerSpec): void {
    const peer = socket.remoteAddress ?? '';
    let buf: Buffer | null = null;
    const fail = (why: string) => {
      cleanup();
      socket.destroy();
      this.owner.refused('proxy_protocol', why, peer);
    };
    const timer = setTimeout(() => fail(`no PROXY protocol header within ${this.owner.config.settings.timeouts.client_header}s`), this.owner.config.settings.timeouts.client_header * 1000);
    timer.unref();
    const onData = (d: Buffer) => {
      buf = buf === null ? d : Buffer.concat([buf, d]);
      let got: ReturnType<typeof parseProxyHeader>;
      try {
        got = parseProxyHeader(buf);
      } catch (e) {
        fail((e as Error).message);
        return;
      }
      if (got === null) {
        if (buf.length > MAX_PROXY_HEADER) fail(`a PROXY protocol header longer than ${MAX_PROXY_HEADER} bytes`);
        return;
      }
      cleanup();
      socket.pause();
      const rest = got.length < buf.length ? buf.subarray(got.length) : null;
      // LOCAL (the balancer's own health check): the connection's own peer
      const told = got.header.command === 'proxy' && got.header.source !== null;
      const remote = told ? got.header.source! : peer;
      const remotePort = told ? got.header.sourcePort ?? 0 : socket.remotePort ?? 0;
      if (spec.tls) this.admitTls(socket, spec, remote, remotePort, rest);
      else {
        if (rest !== null) socket.unshift(rest);
        this.admit(socket, spec, remote, remotePort);
      }
      socket.resume();
    };
    const onEnd = () => fail('the connection closed before its PROXY protocol header');
    const cleanup = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
    };
    socket.on('error', () => {});
    socket.on('data', onData);
    socket.on('end', onEnd);
  }

  private admit(socket: Socket, spec: ListenerSpec, remote: string, remotePort: number): void {
    if (!spec.tls) this.owner.accepted({ socket, remote, remotePort, tls: false });
    else this.admitTls(socket, spec, remote, remotePort, null);
  }

  /** wrap in TLS; `early` is what came after a PROXY header in the same read (the start of the ClientHello) */
  private admitTls(socket: Socket, spec: ListenerSpec, remote: string, remotePort: number, early: Buffer | null): void {
    NO_CERT ??= tls.createSecureContext({});
    const fallback = this.owner.config.tlsContext(null);
    const t = new tls.TLSSocket(socket, {
      isServer: true,
      // a client that sends no SNI gets the default certificate (or none: its handshake fails)
      secureContext: fallback instanceof Promise || fallback === null ? NO_CERT : fallback,
      SNICallback: (name, cb) => {
        const ctx = this.owner.config.tlsContext(name.toLowerCase());
        if (ctx instanceof Promise) {
          // a certificate being obtained (ACME on demand): this handshake waits, nothing else does
          ctx.then((c) => answerSni(cb, name, c), (e: Error) => cb(e, undefined));
        } else answerSni(cb, name, ctx);
      },
      // HTTP/2 first when the listener offers it; a client that asks for neither gets HTTP/1.1
      ALPNProtocols: spec.http2 ? ALPN_H2 : ALPN_H1,
    });
    if (early !== null) {
      // TLS reads the socket below JS, so bytes JS already read must be handed to it. Node
      // has no public way to do that (unshift is not seen); TLSWrap.receive() is what node
      // itself uses for the same case. test/proxy-protocol-then-tls holds it to that.
      const handle = (t as unknown as { _handle?: { receive?: (b: Buffer) => void } })._handle;
      if (typeof handle?.receive !== 'function') {
        t.destroy();
        this.owner.refused('tls', 'this Node version gives no way to pass the bytes after a PROXY header to TLS', remote);
        return;
      }
      handle.receive(early);
    }
    let secure = false;
    t.on('error', (e: Error) => {
      if (!secure) this.owner.refused('tls', e.message, remote);
    });
    if (!spec.http2) {
      // HTTP/1.1 only: the connection's first-head deadline covers the handshake too
      t.once('secure', () => { secure = true; });
      this.owner.accepted({ socket: t, remote, remotePort, tls: true });
      return;
    }
    // which protocol is known once the handshake is done; until then, one timer bounds it
    const timer = setTimeout(() => {
      if (secure) return;
      this.owner.refused('tls', 'no TLS handshake within timeouts.client_header', remote);
      t.destroy();
    }, this.owner.config.settings.timeouts.client_header * 1000);
    t.once('close', () => clearTimeout(timer));
    t.once('secure', () => {
      secure = true;
      clearTimeout(timer);
      if (t.destroyed) return;
      this.owner.accepted({ socket: t, remote, remotePort, tls: true, h2: t.alpnProtocol === 'h2' });
    });
  }
}

function answerSni(cb: (err: Error | null, ctx?: tls.SecureContext) => void, name: string, ctx: tls.SecureContext | null): void {
  if (ctx === null) cb(new Error(`no certificate for ${JSON.stringify(name)} and no default`), undefined);
  else cb(null, ctx);
}

/** how a request on `socket` came: for TLS, the server name the client asked for */
export function arrivalOf(socket: Socket, isTls: boolean): Arrival {
  if (!isTls) return PLAIN_ARRIVAL;
  const name = (socket as tls.TLSSocket).servername;
  return { scheme: 'https', sni: typeof name === 'string' && name !== '' ? name.toLowerCase() : null };
}

const PLAIN_ARRIVAL: Arrival = Object.freeze({ scheme: 'http', sni: null });
