/**
 * Upgrade requests (WebSocket). A tunnel is opened only when the Upgrade protocol is
 * one the config allows and the backend answers 101; anything else (h2c included) is
 * forwarded as an ordinary request without its Upgrade header, and its response is
 * written on the raw socket, followed by a close. So a client can never tunnel to a
 * backend past routing. When either side of a tunnel closes or fails, the other is
 * destroyed too.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Upstreams } from './upstreams.js';
import { Exchange } from './exchange.js';
import { upstreamRequestHeaders, downstreamResponseHeaders } from './headers.js';
import { classify } from './classify.js';
import { rawHead, rawError } from './respond.js';
import type { ForwardHooks } from './forward.js';

export class Tunnels {
  readonly open = new Set<Socket | Duplex>();
  constructor(
    private readonly upstreams: Upstreams,
    private readonly hooks: ForwardHooks,
  ) {}

  forward(x: Exchange, socket: Socket, head: Buffer, index: number, path: string, overrides: ReadonlyArray<readonly [string, string | null]> | null): void {
    const cfg = x.cfg;
    const spec = cfg.backends[index];
    const state = cfg.backendSet.list[index];
    x.backend = state;
    x.tried.push(index);
    const req = x.req;
    const proto = String(req.headers.upgrade ?? '').split(',')[0].trim().toLowerCase();
    const allowed = proto !== '' && cfg.settings.upgrade.protocols.includes(proto) && req.method === 'GET';
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection as string | undefined, { clientIp: x.client, proto: 'http' }, overrides);
    state.inflight++;
    state.requests++;
    x.dispatchedAt = performance.now();
    const handler = new TunnelHandler(this, x, socket, head);
    this.upstreams.get(spec.origin, cfg.settings).dispatch({
      path,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      body: allowed || !x.hasBody ? null : req,
      upgrade: allowed ? proto : undefined,
      headersTimeout: cfg.settings.timeouts.header * 1000,
      bodyTimeout: cfg.settings.timeouts.body * 1000,
    }, handler);
  }

  /** splice the client socket and the backend socket together */
  splice(x: Exchange, client: Socket, upstream: Duplex, head: Buffer): void {
    this.open.add(client);
    const both = () => {
      client.destroy();
      upstream.destroy();
      if (this.open.delete(client)) {
        x.backend!.inflight--;
        this.hooks.outcome(x, x.backend!, true, null);
      }
    };
    client.on('error', both).on('close', both);
    upstream.on('error', both).on('close', both);
    client.setTimeout(0);
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  }

  closeAll(): void {
    for (const s of this.open) s.destroy();
  }

  get hooksRef(): ForwardHooks {
    return this.hooks;
  }
}

class TunnelHandler implements Dispatcher.DispatchHandler {
  private abortFn: ((err?: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  private done = false;

  constructor(
    private readonly t: Tunnels,
    private readonly x: Exchange,
    private readonly socket: Socket,
    private readonly head: Buffer,
  ) {
    socket.once('close', () => {
      if (!x.upgraded && !this.done) {
        x.clientGone = true;
        this.abortFn?.(new Error('client closed the connection'));
      }
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    this.done = true;
    const x = this.x;
    x.status = statusCode;
    x.upgraded = true;
    x.started = true;
    x.upstreamMs = performance.now() - x.dispatchedAt;
    let head = `HTTP/1.1 101 Switching Protocols\r\n`;
    for (let i = 0; rawHeaders && i < rawHeaders.length; i += 2) head += `${String(rawHeaders[i])}: ${String(rawHeaders[i + 1])}\r\n`;
    this.socket.write(head + '\r\n');
    this.t.splice(x, this.socket, upstream, this.head);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true;
    const x = this.x;
    this.resumeFn = resume;
    x.status = statusCode;
    x.started = true;
    x.upstreamMs = performance.now() - x.dispatchedAt;
    const { headers } = downstreamResponseHeaders(rawHeaders);
    this.socket.write(rawHead(statusCode, statusText, headers), 'latin1');
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.x.bytes += chunk.length;
    const ok = this.socket.write(chunk);
    if (!ok && this.resumeFn) this.socket.once('drain', this.resumeFn);
    return ok;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    this.x.backend!.inflight--;
    this.socket.end();
    this.t.hooksRef.outcome(this.x, this.x.backend!, this.x.status < 500, null);
  }

  onError(err: Error): void {
    if (this.done) return;
    this.done = true;
    const x = this.x;
    x.backend!.inflight--;
    const failure = classify(err);
    x.error = failure.code;
    x.errorDetail = err.message;
    this.t.hooksRef.outcome(x, x.backend!, false, failure.backendFault ? failure : null);
    if (x.started || x.clientGone) {
      this.socket.destroy();
      return;
    }
    x.status = failure.status;
    rawError(this.socket, failure.status, failure.code, `backend ${x.backend!.name} failed: ${err.message}`);
  }
}
