/**
 * One request as route() sees it, whatever it came from: a client's HTTP/1.1 head, a
 * routing test, `luaproxy route`, or a recent request replayed by a reload's dry run.
 * prepare() turns the Host header and the request target as sent into what route
 * receives (host lower-cased, port and trailing dot removed; path normalized, without its
 * query) and into the target the backend will receive. The `req` fields a script reads
 * (method, url, query, headers, client) come from here too. Every entry point builds a
 * RouteCall and hands it to decide() (decide.ts), so a routing test sees exactly what
 * production sees.
 */
import { HostCache } from '../core/host.js';
import { needsNormalizing, normalizePath } from '../core/path.js';
import type { Decision } from '../core/decision.js';

/** a request as it arrived; RequestHead (src/http1) fits as it is */
export interface RequestSource {
  readonly method: string;
  /** the request target as sent: origin form (`/path?q`) or absolute form (`http://host/path?q`) */
  readonly target: string;
  /** the Host header's value as sent; undefined when there is none */
  readonly host: string | undefined;
  /** every header as sent, name and value alternating */
  readonly headers: readonly string[];
  /** HTTP/1.x minor version (RequestHead has it); absent: 1 */
  readonly minor?: number;
  /** the HTTP version, when it is not 1.x ("2" for an HTTP/2 stream) or is given outright (tests) */
  readonly httpVersion?: string;
}

/** how a request came: over which scheme, and the TLS server name the client asked for */
export interface Arrival {
  readonly scheme: 'http' | 'https';
  /** the SNI name of the TLS connection, or null (plain HTTP, or a client that sent none) */
  readonly sni: string | null;
}

/** a plain-HTTP connection */
export const PLAIN: Arrival = Object.freeze({ scheme: 'http', sni: null });

// the refusals, made once: a refused request allocates nothing
const refuse = (what: 'host' | 'target', reason: string): Decision => Object.freeze({ kind: 'refused', code: 'LPX_CLIENT_BAD_REQUEST', what, reason });
const INVALID_HOST = refuse('host', 'invalid Host header');
const ASTERISK = refuse('target', 'asterisk-form requests (OPTIONS *) are not forwarded');
const BAD_TARGET = refuse('target', 'the request target must be a path ("/...") or an http:// URL');
const ABSOLUTE = /^http:\/\//i;

/** normalized hosts by raw Host value, for every RouteCall of the process (normalization is pure) */
const hosts = new HostCache();

export class RouteCall {
  /** the host route receives, as text (logs) and as bytes (route's argument) */
  host = '';
  hostBytes: Uint8Array | null = null;
  /** the path route receives: normalized, without the query */
  path = '';
  pathBytes: Uint8Array | null = null;
  /** `req.url`: the target as sent, in origin form (an absolute-form target's path and query), not normalized */
  url = '';
  /** the target the backend receives: the normalized path (or route's rewrite) and the query as sent */
  target = '';
  /** the Host for the backend when the request came in absolute form, else null (the client's Host goes as is) */
  hostOverride: string | null = null;
  /** index of `?` in `url`, or -1 */
  private queryAt = -1;
  private headerMap: Record<string, string | string[]> | null = null;

  constructor(
    readonly head: RequestSource,
    /** the client's address (`req.client`; with PROXY protocol, the address its header gives) */
    readonly client: string,
    /** `req.scheme` and `req.tls_sni` */
    readonly arrival: Arrival = PLAIN,
  ) {}

  get method(): string {
    return this.head.method;
  }

  /** `req.scheme`: "http" or "https" */
  get scheme(): 'http' | 'https' {
    return this.arrival.scheme;
  }

  /** `req.tls_sni`: the TLS server name, or null */
  get tlsSni(): string | null {
    return this.arrival.sni;
  }

  /** `req.http_version`: "1.0", "1.1" (or "2" for an HTTP/2 stream) */
  get httpVersion(): string {
    return this.head.httpVersion ?? (this.head.minor === 0 ? '1.0' : '1.1');
  }

  /** `req.query`: the part of the target after `?`, or null */
  get query(): string | null {
    return this.queryAt < 0 ? null : this.url.slice(this.queryAt + 1);
  }

  /** `req.headers`: by lower-case name, repeated headers as a list (built only when a script reads them) */
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

  /** work out host, path, url and target; a refusal (400, route not called) when the request cannot be routed */
  prepare(): Decision | null {
    let rawHost = this.head.host;
    let url = this.head.target;
    if (url.charCodeAt(0) !== 47 /* "/" */) {
      // absolute-form (a request meant for a forward proxy): its authority wins over Host
      let u: URL | null = null;
      if (ABSOLUTE.test(url)) try { u = new URL(url); } catch { u = null; }
      if (!u || u.username || u.password) return url === '*' ? ASTERISK : BAD_TARGET;
      // the Host header is replaced, but an invalid one is refused all the same
      if (hosts.get(rawHost) === null) return INVALID_HOST;
      // RFC 9112 3.2.2: the target's authority replaces the Host header, so the backend
      // sees the host the request was routed by
      rawHost = u.host;
      this.hostOverride = u.host;
      url = u.pathname + u.search;
    }
    const host = hosts.get(rawHost);
    if (host === null) return INVALID_HOST;
    this.host = host.text;
    this.hostBytes = host.bytes;
    this.url = url;
    const q = url.indexOf('?');
    this.queryAt = q;
    let path = q < 0 ? url : url.slice(0, q);
    let target = url;
    if (needsNormalizing(path)) {
      // route and backend must see the same path: /x/../admin is /admin to both
      const n = normalizePath(path);
      if (n !== path) {
        target = q < 0 ? n : n + url.slice(q);
        path = n;
      }
    }
    this.path = path;
    this.pathBytes = Buffer.from(path, 'latin1');
    this.target = target;
    return null;
  }

  /** route rewrote the path: the backend gets it, with the query as sent */
  rewrite(path: string): void {
    this.target = this.queryAt < 0 ? path : path + this.url.slice(this.queryAt);
  }
}

/** a request made up from parts (tests, the `route` command, replayed samples): the Host header first, then `headers` */
export function requestSource(method: string, target: string, host: string, headers: Iterable<readonly [string, string]> = []): RequestSource {
  const flat: string[] = ['host', host];
  for (const [k, v] of headers) if (k.toLowerCase() !== 'host') flat.push(k, v);
  return { method, target, host, headers: flat };
}
