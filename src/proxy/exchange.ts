/**
 * One client request on its way through the proxy: what route decided, which backends
 * were tried, and what went back. It becomes the access-log line and the metrics.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/load.js';
import type { BackendState } from '../balancer/backend.js';
import type { ErrorCode } from '../core/errors.js';

export class Exchange {
  readonly start = performance.now();
  /** normalized host as route saw it */
  host = '';
  hostBytes: Uint8Array | null = null;
  path = '';
  pathBytes: Uint8Array | null = null;
  backend: BackendState | null = null;
  /** indexes of the backends tried, in order */
  tried: number[] = [];
  retries = 0;
  reusedRetried = false;
  status = 0;
  bytes = 0;
  /** ms from dispatch to the backend's response headers */
  upstreamMs = -1;
  dispatchedAt = 0;
  error: ErrorCode | null = null;
  errorDetail: string | null = null;
  /** the Lua traceback, when route() failed */
  traceback: string | null = null;
  clientGone = false;
  /** the response began (headers sent); no retry and no error page after this */
  started = false;
  upgraded = false;
  /** the client's socket, for an upgrade request (which has no ServerResponse) */
  upgradeSocket: Socket | null = null;
  /** the request target to send to the backend (after normalization and route's rewrite) */
  target = '';
  /** the response to the client has no length and no chunking: only the close marks its end */
  closeDelimited = false;
  /** what route() decided: forward, respond (directly), none (nil), error (the script failed), or null before route ran */
  decision: 'forward' | 'respond' | 'none' | 'error' | null = null;

  /** the client's address, kept because req.socket is gone once the response closes */
  readonly client: string;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse | null,
    readonly cfg: Config,
  ) {
    this.client = req.socket?.remoteAddress ?? '';
  }

  get hasBody(): boolean {
    const h = this.req.headers;
    return (h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined;
  }
}
