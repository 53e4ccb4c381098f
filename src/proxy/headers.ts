/**
 * Header handling on both legs: hop-by-hop headers (and any header named in
 * `Connection`) are dropped, duplicates and the original case are kept, and
 * X-Forwarded-For/-Proto/-Host are set on the way to the backend. The original Host
 * header goes to the backend unchanged, since backends use it for virtual hosting.
 */

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
]);

/** lower-cased header names listed in Connection values, beyond the standard hop-by-hop set */
function connectionListed(values: string | undefined): Set<string> | null {
  if (!values) return null;
  let out: Set<string> | null = null;
  for (const part of values.split(',')) {
    const t = part.trim().toLowerCase();
    // Host is end-to-end whatever Connection says: the backend must see the host routed by
    if (t && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade' && t !== 'host') (out ??= new Set()).add(t);
  }
  return out;
}

export interface ForwardedInfo {
  clientIp: string;
  proto: 'http' | 'https';
}

/**
 * Request headers for the backend as a flat [name, value, ...] list (undici's raw form),
 * from the client's raw headers. `overrides` come from route's { headers = {...} }:
 * a value replaces every header of that name, null removes it.
 */
export function upstreamRequestHeaders(
  raw: string[],
  connection: string | undefined,
  fwd: ForwardedInfo,
  overrides: ReadonlyArray<readonly [string, string | null]> | null,
): string[] {
  const listed = connectionListed(connection);
  const out: string[] = [];
  let xff: string | null = null;
  let host: string | null = null;
  let overridden: Set<string> | null = null;
  if (overrides) overridden = new Set(overrides.map(([k]) => k.toLowerCase()));
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === 'expect') continue;
    if (listed?.has(lower)) continue;
    if (lower === 'x-forwarded-for') { xff = xff === null ? raw[i + 1] : `${xff}, ${raw[i + 1]}`; continue; }
    if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host') continue;
    if (lower === 'host') { if (host === null) host = raw[i + 1]; }
    if (overridden?.has(lower)) continue;
    out.push(name, raw[i + 1]);
  }
  out.push('x-forwarded-for', xff === null ? fwd.clientIp : `${xff}, ${fwd.clientIp}`);
  out.push('x-forwarded-proto', fwd.proto);
  if (host !== null) out.push('x-forwarded-host', host);
  if (overrides) for (const [k, v] of overrides) if (v !== null) out.push(k, v);
  return out;
}

/**
 * response headers for the client, from the backend's raw headers (Buffers, latin1).
 * One pass converts each name and value once; only a response whose Connection header
 * lists extra names (rare) takes a second pass to drop them.
 */
export function downstreamResponseHeaders(raw: Buffer[] | string[] | null): { headers: string[]; contentLength: number } {
  const out: string[] = [];
  let listed: Set<string> | null = null;
  let contentLength = -1;
  if (!raw) return { headers: out, contentLength };
  for (let i = 0; i < raw.length; i += 2) {
    const name = typeof raw[i] === 'string' ? (raw[i] as string) : (raw[i] as Buffer).toString('latin1');
    const value = typeof raw[i + 1] === 'string' ? (raw[i + 1] as string) : (raw[i + 1] as Buffer).toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') {
        const more = connectionListed(value);
        if (more) { listed ??= new Set(); for (const t of more) listed.add(t); }
      }
      continue;
    }
    if (lower === 'content-length') contentLength = Number(value);
    out.push(name, value);
  }
  if (listed === null) return { headers: out, contentLength };
  const kept: string[] = [];
  contentLength = -1;
  for (let i = 0; i < out.length; i += 2) {
    const lower = out[i].toLowerCase();
    if (listed.has(lower)) continue;
    if (lower === 'content-length') contentLength = Number(out[i + 1]);
    kept.push(out[i], out[i + 1]);
  }
  return { headers: kept, contentLength };
}

/** headers of a direct response from route's { status = ..., headers = {...} } */
export function directHeaders(headers: ReadonlyArray<readonly [string, string]> | null, body: Buffer | null): string[] {
  const out: string[] = [];
  let hasType = false;
  for (const [k, v] of headers ?? []) {
    const lower = k.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === 'content-length') continue;
    if (lower === 'content-type') hasType = true;
    out.push(k, v);
  }
  if (body && !hasType) out.push('content-type', 'text/plain; charset=utf-8');
  out.push('content-length', String(body ? body.length : 0));
  return out;
}
