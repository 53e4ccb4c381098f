/**
 * One client request on its way through the proxy: its parsed head, what route decided,
 * which backends were tried, and what went back. It is also the `req` a script reads
 * (method, url, headers), and it becomes the access-log line and the metrics.
 */
import type { Socket } from 'node:net';
import type { Config } from '../config/load.js';
import type { BackendState } from '../balancer/backend.js';
import type { ErrorCode } from '../core/errors.js';
import type { RequestHead } from '../http1/parse.js';

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
  /** the response began (its head was written); no retry and no error page after this */
  started = false;
  upgraded = false;
  /** the request target to send to the backend (after normalization and route's rewrite) */
  target = '';
  /** the Host for the backend when the request came in absolute form, else null (the client's Host goes as is) */
  hostOverride: string | null = null;
  /** the Upgrade protocol the client asked for (lower case) when it may be tunneled, else null */
  upgrade: string | null = null;
  /** the response to the client has no length and no chunking: only the close marks its end */
  closeDelimited = false;
  /** what route() decided: forward, respond (directly), none (nil), error (the script failed), or null before route ran */
  decision: 'forward' | 'respond' | 'none' | 'error' | null = null;
  private headerMap: Record<string, string | string[]> | null = null;

  constructor(
    readonly head: RequestHead,
    readonly cfg: Config,
    /** the client's address, kept because the socket forgets it once it closes */
    readonly client: string,
    readonly socket: Socket,
  ) {}

  get method(): string {
    return this.head.method;
  }

  get url(): string {
    return this.head.target;
  }

  /** the request's headers by lower-case name, as node:http shows them (built only when a script reads req.headers) */
  get headers(): Record<string, string | string[]> {
    if (this.headerMap === null) {
      const m: Record<string, string | string[]> = Object.create(null); // a header may be named __proto__
      const h = this.head.headers;
      for (let i = 0; i < h.length; i += 2) {
        const k = h[i].toLowerCase();
        const prev = m[k];
        if (prev === undefined) m[k] = h[i + 1];
        else if (Array.isArray(prev)) prev.push(h[i + 1]);
        else m[k] = [prev, h[i + 1]];
      }
      this.headerMap = m;
    }
    return this.headerMap;
  }

  get hasBody(): boolean {
    return this.head.chunked || this.head.contentLength > 0;
  }
}
