/**
 * The heads the proxy writes: the request head for the backend and the response head for
 * the client, built as one latin1 string each from the parsed heads (src/http1). The
 * hop-by-hop headers of the header policy (src/http1/header-policy.ts, through the
 * parser's kind codes) and any header named in Connection are dropped, duplicates and the
 * original case are kept, the forwarded headers (X-Forwarded-For/-Proto/-Host, RFC 7239
 * Forwarded) are set on the way to the backend as the `forwarded` settings say, and the
 * message framing (Content-Length or chunked) is always the proxy's own, never a
 * copy of what came in. The original Host goes to the backend unchanged, since backends
 * use it for virtual hosting.
 */
import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import {
  K_OTHER, K_HOST, K_CONTENT_LENGTH, K_TRANSFER_ENCODING, K_CONNECTION, K_UPGRADE, K_EXPECT, K_HOP,
  K_X_FORWARDED_FOR, K_X_FORWARDED_OTHER, K_DATE, type RequestHead, type ResponseHead,
} from '../http1/parse.js';
import { HOP_BY_HOP, FRAMING } from '../http1/header-policy.js';
import { defaults, type Settings } from '../config/defaults.js';
import { trustedPeers } from '../config/trusted-peers.js';

/** route's { headers = {...} } for the backend: a value replaces every header of that name, null removes it */
export type HeaderOverrides = ReadonlyArray<readonly [string, string | null]>;

function listedHas(listed: string[] | null, name: string): boolean {
  return listed !== null && listed.includes(name.toLowerCase());
}

// route's headers that replace a header the proxy writes itself (bits of overrideNames' result)
const O_HOST = 1;
const O_XFF = 2;
const O_XFPROTO = 4;
const O_XFHOST = 8;
const O_FWD = 16;

/**
 * The lower-cased names of route's headers, in order, into `out`; a name given twice (in
 * two letter cases) keeps its first entry, the later ones become '' and are not written.
 * Returns which of the proxy's own headers they replace.
 */
function overrideNames(o: HeaderOverrides, out: string[]): number {
  let own = 0;
  for (let i = 0; i < o.length; i++) {
    const lower = o[i][0].toLowerCase();
    if (out.includes(lower)) { out.push(''); continue; }
    out.push(lower);
    if (lower === 'host') own |= O_HOST;
    else if (lower === 'x-forwarded-for') own |= O_XFF;
    else if (lower === 'x-forwarded-proto') own |= O_XFPROTO;
    else if (lower === 'x-forwarded-host') own |= O_XFHOST;
    else if (lower === 'forwarded') own |= O_FWD;
  }
  return own;
}

/** the `forwarded` settings, read once per config: the trust list as a BlockList, and the last peer asked */
class ForwardedPolicy {
  readonly x: boolean;
  readonly rfc: boolean;
  private readonly peers: net.BlockList | null;
  // BlockList.check allocates; requests come from few peers (a load balancer), so one answer is kept
  private lastPeer = '';
  private lastTrusted = false;

  constructor(f: Settings['forwarded']) {
    this.x = f.x_forwarded;
    this.rfc = f.forwarded;
    this.peers = trustedPeers(f.trust);
  }

  /** whether a request from `ip` may have its X-Forwarded-For and Forwarded extended */
  trusts(ip: string): boolean {
    if (this.peers === null) return false;
    if (ip !== this.lastPeer) {
      const v = net.isIP(ip);
      this.lastTrusted = v !== 0 && this.peers.check(ip, v === 4 ? 'ipv4' : 'ipv6');
      this.lastPeer = ip;
    }
    return this.lastTrusted;
  }
}

const policies = new WeakMap<Settings['forwarded'], ForwardedPolicy>();

function policyOf(f: Settings['forwarded']): ForwardedPolicy {
  let p = policies.get(f);
  if (p === undefined) policies.set(f, p = new ForwardedPolicy(f));
  return p;
}

// RFC 7239 4: a value is a token (RFC 9110 5.6.2) or a quoted-string
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function rfc7239Value(v: string): string {
  return TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/** RFC 7239 6: an IPv6 node is bracketed, and so quoted; an unknown address is `unknown` */
function rfc7239Node(ip: string): string {
  if (ip === '') return 'unknown';
  return ip.includes(':') ? `"[${ip}]"` : rfc7239Value(ip);
}

/**
 * The request head for the backend. `host` replaces the Host header when the request
 * came in absolute form; `upgrade` is the protocol to ask for, or null for none. The
 * backend always gets exactly one Host. route's headers replace the request's headers of
 * the same name and the proxy's own Host, X-Forwarded-For/-Proto/-Host and Forwarded;
 * `false` for one of those removes it, except Host, which is then sent empty (HTTP/1.1
 * requires one). `scheme` is how the client came; `forwarded` the config's settings of
 * that name (the defaults when left out, for tests of the header policy alone). A family
 * the settings turn off is neither written nor passed on from the client; the client's
 * X-Forwarded-For and Forwarded are extended only when it is a trusted peer.
 */
export function backendRequestHead(
  h: RequestHead,
  target: string,
  clientIp: string,
  host: string | null,
  overrides: HeaderOverrides | null,
  upgrade: string | null,
  scheme: 'http' | 'https' = 'http',
  forwarded: Settings['forwarded'] = defaults.forwarded,
): string {
  let s = `${h.method} ${target} HTTP/1.1\r\n`;
  const headers = h.headers;
  const kinds = h.kinds;
  const listed = h.listed;
  let names: string[] | null = null;
  let own = 0;
  if (overrides !== null && overrides.length > 0) {
    names = [];
    own = overrideNames(overrides, names);
  }
  const policy = policyOf(forwarded);
  // the client's X-Forwarded-For and Forwarded, collected only when the proxy writes its own
  const keepXff = policy.x && (own & O_XFF) === 0;
  const keepFwd = policy.rfc && (own & O_FWD) === 0;
  let xff: string | null = null;
  let fwd: string | null = null;
  let firstHost: string | null = host;
  let sawHost = false;
  for (let i = 0, k = 0; i < headers.length; i += 2, k++) {
    switch (kinds[k]) {
      case K_HOST:
        if (sawHost) continue;
        sawHost = true;
        if (firstHost === null) firstHost = headers[i + 1];
        if ((own & O_HOST) !== 0) continue;
        s += host === null ? `${headers[i]}: ${headers[i + 1]}\r\n` : `${headers[i]}: ${host}\r\n`;
        continue;
      case K_CONTENT_LENGTH: case K_TRANSFER_ENCODING: case K_CONNECTION: case K_UPGRADE: case K_EXPECT: case K_HOP:
      case K_X_FORWARDED_OTHER:
        continue;
      case K_X_FORWARDED_FOR:
        if (keepXff) xff = xff === null ? headers[i + 1] : `${xff}, ${headers[i + 1]}`;
        continue;
      default:
        if (listed !== null && listedHas(listed, headers[i])) continue;
        if (names !== null && names.includes(headers[i].toLowerCase())) continue;
        // Forwarded is the proxy's to write or to drop, like the X-Forwarded-* above
        if (headers[i].length === 9 && headers[i].toLowerCase() === 'forwarded') {
          if (keepFwd) fwd = fwd === null ? headers[i + 1] : `${fwd}, ${headers[i + 1]}`;
          continue;
        }
        s += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
  }
  // an HTTP/1.0 request may come without Host: the backend gets an empty one (RFC 9112 3.2)
  if (!sawHost && (own & O_HOST) === 0) s += `Host: ${host ?? ''}\r\n`;
  if (policy.x) {
    if (keepXff) s += `x-forwarded-for: ${xff !== null && policy.trusts(clientIp) ? `${xff}, ${clientIp}` : clientIp}\r\n`;
    if ((own & O_XFPROTO) === 0) s += `x-forwarded-proto: ${scheme}\r\n`;
    if (firstHost !== null && (own & O_XFHOST) === 0) s += `x-forwarded-host: ${firstHost}\r\n`;
  }
  if (keepFwd) {
    let el = `for=${rfc7239Node(clientIp)};proto=${scheme}`;
    if (firstHost !== null && firstHost !== '') el += `;host=${rfc7239Value(firstHost)}`;
    s += `forwarded: ${fwd !== null && policy.trusts(clientIp) ? `${fwd}, ${el}` : el}\r\n`;
  }
  // an upgrade request is sent without a body: what follows its head is for the tunnel
  if (upgrade !== null) s += `connection: upgrade\r\nupgrade: ${upgrade}\r\n`;
  else if (h.chunked) s += 'transfer-encoding: chunked\r\n';
  else if (h.contentLength >= 0) s += `content-length: ${h.contentLength}\r\n`;
  if (names !== null) {
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (name === '') continue;
      const v = overrides![i][1];
      if (v !== null) s += `${overrides![i][0]}: ${v}\r\n`;
      else if (name === 'host') s += `${overrides![i][0]}: \r\n`;
    }
  }
  return `${s}\r\n`;
}

// the Date header, rebuilt at most once a second
let dateText = '';
let dateAt = 0;
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000 || now < dateAt) {
    dateAt = now - (now % 1000);
    dateText = new Date(dateAt).toUTCString();
  }
  return dateText;
}

/** how the proxy frames a response body for the client */
export const F_NONE = 0;
export const F_LENGTH = 1;
export const F_CHUNKED = 2;
export const F_CLOSE = 3;

/**
 * The response head for the client, from the backend's head. `framing` is F_LENGTH (with
 * the backend's Content-Length), F_CHUNKED, F_CLOSE (the close marks the end) or F_NONE (a
 * response without a body: HEAD, 204, 304, which keep a Content-Length they carry).
 * `connection` is 'close', 'keep-alive' (an HTTP/1.0 client that asked for it) or null.
 */
export function clientResponseHead(r: ResponseHead, framing: number, connection: string | null): string {
  let s = `HTTP/1.1 ${r.status} ${r.reason || STATUS_CODES[r.status] || ''}\r\n`;
  const headers = r.headers;
  const kinds = r.kinds;
  const listed = r.listed;
  for (let i = 0, k = 0; i < headers.length; i += 2, k++) {
    const kind = kinds[k];
    if (kind === K_OTHER || kind === K_DATE || kind === K_HOST || kind === K_EXPECT || kind === K_X_FORWARDED_FOR || kind === K_X_FORWARDED_OTHER) {
      if (listed !== null && listedHas(listed, headers[i])) continue;
      s += `${headers[i]}: ${headers[i + 1]}\r\n`;
    } else if (kind === K_CONTENT_LENGTH && framing === F_NONE) {
      s += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
  }
  if (framing === F_LENGTH) s += `content-length: ${r.contentLength}\r\n`;
  // the backend's other transfer codings are kept, so the client can undo them
  else if (framing === F_CHUNKED) s += r.codings === null ? 'transfer-encoding: chunked\r\n' : `transfer-encoding: ${r.codings}, chunked\r\n`;
  else if (framing === F_CLOSE && r.codings !== null) s += `transfer-encoding: ${r.codings}\r\n`;
  if (!r.hasDate) s += `date: ${httpDate()}\r\n`;
  if (connection !== null) s += `connection: ${connection}\r\n`;
  return `${s}\r\n`;
}

/** the 101 head for the client: the backend's headers, with its Upgrade and Connection */
export function switchingHead(r: ResponseHead): string {
  let s = `HTTP/1.1 101 ${r.reason || 'Switching Protocols'}\r\n`;
  for (let i = 0; i < r.headers.length; i += 2) s += `${r.headers[i]}: ${r.headers[i + 1]}\r\n`;
  return `${s}\r\n`;
}

/** headers of a response the proxy writes itself, as a head string */
export function ownResponseHead(status: number, headers: readonly string[], connection: string | null): string {
  let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  s += `date: ${httpDate()}\r\n`;
  if (connection !== null) s += `connection: ${connection}\r\n`;
  return `${s}\r\n`;
}

/**
 * Headers of a direct response from route's { status = ..., headers = {...} }. The
 * framing is the proxy's: Content-Length of `body`, except for 204 and 304, which never
 * carry one (RFC 9110 8.6: a 304 may only repeat the length of the 200 it stands for,
 * which the proxy does not know). `body` is null for those, and for 205 (sent with
 * Content-Length 0).
 */
export function directHeaders(status: number, headers: ReadonlyArray<readonly [string, string]> | null, body: Buffer | null): string[] {
  const out: string[] = [];
  let hasType = false;
  for (const [k, v] of headers ?? []) {
    const lower = k.toLowerCase();
    if (HOP_BY_HOP.has(lower) || FRAMING.has(lower)) continue;
    if (lower === 'content-type') hasType = true;
    out.push(k, v);
  }
  if (body && !hasType) out.push('content-type', 'text/plain; charset=utf-8');
  if (status !== 204 && status !== 304) out.push('content-length', String(body ? body.length : 0));
  return out;
}
