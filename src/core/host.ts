/**
 * Host normalization: what `route` sees as `host`. Lower-cased (so IronHand.example.com
 * and ironhand.example.com route alike), port removed, a trailing dot removed. A Host
 * value with characters no host name has is refused (null), which the proxy answers 400.
 */

/** normalize a Host header value; null when it is not a valid host */
export function normalizeHost(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return '';
  let end = raw.length;
  let start = 0;
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf(']');
    if (close < 0) return null;
    const rest = raw.slice(close + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
    const inner = raw.slice(1, close);
    if (!/^[0-9A-Fa-f:.]+$/.test(inner)) return null;
    return `[${inner.toLowerCase()}]`;
  }
  const colon = raw.indexOf(':');
  if (colon >= 0) {
    if (!/^:\d{0,5}$/.test(raw.slice(colon))) return null;
    end = colon;
  }
  let upper = false;
  for (let i = start; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 97 && c <= 122) continue; // a-z
    if ((c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95) continue; // 0-9 - . _
    if (c >= 65 && c <= 90) { upper = true; continue; }
    return null;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 46) end--; // trailing dot
  start = 0;
  const host = colon >= 0 || end !== raw.length ? raw.slice(start, end) : raw;
  return upper ? host.toLowerCase() : host;
}

/** a normalized host, as text (for logs) and as the bytes route() receives */
export interface HostEntry {
  readonly text: string;
  readonly bytes: Uint8Array;
}

/** normalizeHost with a bounded cache, for the request path; null for an invalid host */
export class HostCache {
  private readonly map = new Map<string, HostEntry | null>();
  constructor(private readonly max = 10000) {}

  get(raw: string | undefined): HostEntry | null {
    const key = raw ?? '';
    let v = this.map.get(key);
    if (v !== undefined) return v;
    const n = normalizeHost(raw);
    v = n === null ? null : { text: n, bytes: Buffer.from(n, 'latin1') };
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, v);
    return v;
  }
}
