/**
 * Tunnels for upgrade requests (WebSocket). A tunnel opens only when the Upgrade protocol
 * is one the config allows, the request is a GET, and the backend answers 101; anything
 * else (h2c included) is forwarded as an ordinary request without its Upgrade header, and
 * the connection closes after its response. So a client can never tunnel to a backend
 * past routing. When either side of a tunnel closes or fails, the other is closed too.
 */
import type { Exchange } from './exchange.js';
import type { ClientConn, Responder } from './client.js';
import type { UpConn, UpstreamUser } from './upstreams.js';
import type { ResponseHead } from '../http1/parse.js';
import { switchingHead } from './headers.js';
import type { Failure } from './classify.js';
import type { BackendState } from '../balancer/backend.js';

export class Tunnels {
  readonly open = new Set<Tunnel>();
  constructor(private readonly outcome: (x: Exchange, backend: BackendState, ok: boolean, failure: Failure | null) => void) {}

  /** the backend answered 101: write it to the client and splice the two connections */
  start(x: Exchange, conn: ClientConn, up: UpConn, r: ResponseHead, rest: Buffer | null): void {
    x.status = 101;
    x.upgraded = true;
    x.started = true;
    const t = new Tunnel(this, x, conn, up);
    this.open.add(t);
    up.pool.discard(up, false); // the connection leaves its pool for good
    up.user = t;
    conn.responder = t;
    conn.socket.write(switchingHead(r), 'latin1');
    if (rest !== null) { x.bytes += rest.length; conn.socket.write(rest); up.lent = true; }
    conn.startTunnel(up.socket);
  }

  closed(t: Tunnel): void {
    if (!this.open.delete(t)) return;
    t.x.backend!.inflight--;
    this.outcome(t.x, t.x.backend!, true, null);
  }

  closeAll(): void {
    for (const t of this.open) t.destroy();
  }
}

class Tunnel implements UpstreamUser, Responder {
  deadline = 0;
  constructor(
    private readonly tunnels: Tunnels,
    readonly x: Exchange,
    private readonly conn: ClientConn,
    private readonly up: UpConn,
  ) {}

  onUpData(d: Buffer): void {
    this.x.bytes += d.length;
    const full = !this.conn.socket.write(d);
    if (this.conn.socket.writableLength > 0) this.up.lent = true; // the write still holds the read buffer
    if (full) this.up.socket.pause();
  }

  onUpEnd(): void {
    this.conn.socket.end();
  }

  onUpClose(): void {
    this.conn.socket.destroy();
    this.tunnels.closed(this);
  }

  onUpDrain(): void {
    this.conn.socket.resume();
  }

  onDeadline(): void {}

  clientGone(): void {
    this.up.socket.destroy();
    this.tunnels.closed(this);
  }

  clientDrain(): void {
    this.up.socket.resume();
  }

  destroy(): void {
    this.conn.socket.destroy();
    this.up.socket.destroy();
  }
}
