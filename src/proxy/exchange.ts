/**
 * One client request on its way through the proxy: its parsed head, what route decided,
 * which backends were tried, and what went back. It is the RouteCall of its request (what
 * route sees, src/routing/call.ts), and it becomes the access-log line and the metrics.
 */
import type { Socket } from 'node:net';
import type { Config } from '../config/load.js';
import type { BackendState } from '../balancer/backend.js';
import type { ErrorCode } from '../core/errors.js';
import type { Decision } from '../core/decision.js';
import type { RequestHead } from '../http1/parse.js';
import { RouteCall, type Arrival } from '../routing/call.js';

export class Exchange extends RouteCall {
  readonly start = performance.now();
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
  /** the response began (its head was written); no retry and no error page after this */
  started = false;
  upgraded = false;
  /** the Upgrade protocol the client asked for (lower case) when it may be tunneled, else null */
  upgrade: string | null = null;
  /** the response to the client has no length and no chunking: only the close marks its end */
  closeDelimited = false;
  /** what the routing step decided, or null before it ran */
  decision: Decision | null = null;

  constructor(
    override readonly head: RequestHead,
    readonly cfg: Config,
    /** the client's address, kept because the socket forgets it once it closes */
    client: string,
    readonly socket: Socket,
    arrival?: Arrival,
    /** the client's port (with a PROXY header, the one it gave): what a PROXY header to a backend names */
    readonly clientPort = 0,
  ) {
    super(head, client, arrival);
  }

  get hasBody(): boolean {
    return this.head.chunked || this.head.contentLength > 0;
  }
}
