/**
 * The script's `listen`: one address as before (a port, or "host:port"), or a list of
 * them, each of which may be a table that turns on TLS, HTTP/2 and the PROXY protocol
 * for that listener. Every listener serves the same route().
 */
import { LpxError } from '../core/errors.js';
import { LuaFunctionRef, type LuaPlain } from '../lua/values.js';
import { didYouMean } from './did-you-mean.js';
import { DEFAULT_LISTEN } from './defaults.js';
import type { SourceLines } from './locate.js';
import { describe } from './describe.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ListenerSpec extends ListenAddress {
  /** "host:port", what a listener is known by across reloads */
  readonly key: string;
  /** terminate TLS (the certificates come from the `tls` table) */
  readonly tls: boolean;
  /** offer HTTP/2 by ALPN (TLS listeners only; refused at load until HTTP/2 is served) */
  readonly http2: boolean;
  /** every connection starts with a PROXY protocol header (v1 or v2), or is closed */
  readonly proxyProtocol: boolean;
}

const FIELDS = ['address', 'tls', 'http2', 'proxy_protocol'];

/** "host:port", "[::1]:port" or ":port" / "port" */
export function parseHostPort(s: string): ListenAddress | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(s) ?? (/^(\d{1,5})$/.test(s) ? [s, undefined, '', s] : null);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function readListeners(v: LuaPlain, src: SourceLines): ListenerSpec[] {
  const at = () => src.at(src.global('listen'));
  if (v === null) return [spec({ host: '0.0.0.0', port: DEFAULT_LISTEN }, false, false, false)];
  if (!Array.isArray(v)) return [spec(address(v, 'listen', at), false, false, false)];
  if (v.length === 0) throw new LpxError('LPX_CONFIG_INVALID', `${at()}listen: expected at least one address, got an empty list`);
  const out: ListenerSpec[] = [];
  v.forEach((entry, i) => {
    const label = `listen[${i + 1}]`;
    let l: ListenerSpec;
    if (entry !== null && typeof entry === 'object' && !Array.isArray(entry) && !(entry instanceof LuaFunctionRef)) {
      for (const k of Object.keys(entry)) {
        if (!FIELDS.includes(k)) throw new LpxError('LPX_CONFIG_INVALID', `${at()}${label}: unknown field "${k}"${didYouMean(k, FIELDS)}`);
      }
      const flag = (k: string, dflt: boolean): boolean => {
        const f = entry[k];
        if (f === undefined || f === null) return dflt;
        if (typeof f !== 'boolean') throw new LpxError('LPX_CONFIG_INVALID', `${at()}${label}.${k}: expected true or false, got ${describe(f)}`);
        return f;
      };
      if (entry.address === undefined || entry.address === null) throw new LpxError('LPX_CONFIG_INVALID', `${at()}${label}: expected { address = "host:port" or a port, ... }, got a table without address`);
      const tls = flag('tls', false);
      // HTTP/2 is offered by ALPN on every TLS listener unless http2 = false
      const http2 = flag('http2', tls);
      if (http2 && !tls) throw new LpxError('LPX_CONFIG_INVALID', `${at()}${label}.http2: HTTP/2 is offered on TLS listeners only (by ALPN; clear-text h2c is refused); set tls = true or drop http2`);
      l = spec(address(entry.address, `${label}.address`, at), tls, http2, flag('proxy_protocol', false), i);
    } else l = spec(address(entry, label, at), false, false, false, i);
    const dup = out.findIndex((o) => o.key === l.key);
    if (dup >= 0) throw new LpxError('LPX_CONFIG_INVALID', `${at()}${label}: ${l.key} is listed twice (also listen[${dup + 1}])`);
    out.push(l);
  });
  return out;
}

function spec(a: ListenAddress, tls: boolean, http2: boolean, proxyProtocol: boolean, index = 0): ListenerSpec {
  // port 0 (any free port: tests) may be listed more than once; each entry is its own listener
  const key = `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}${a.port === 0 ? `#${index + 1}` : ''}`;
  return Object.freeze({ host: a.host, port: a.port, key, tls, http2, proxyProtocol });
}

function address(v: LuaPlain, label: string, at: () => string): ListenAddress {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new LpxError('LPX_CONFIG_INVALID', `${at()}${label}: expected a port from 1 to 65535 or "host:port", got ${v}`);
    return { host: '0.0.0.0', port: v };
  }
  if (typeof v === 'string') {
    const a = parseHostPort(v);
    if (a) return a;
  }
  throw new LpxError('LPX_CONFIG_INVALID', `${at()}${label}: expected a port number or "host:port", got ${describe(v)}`);
}


/** the addresses of two listener lists, as "host:port, ..." when they differ, else null */
export function addressChange(before: readonly ListenerSpec[], after: readonly ListenerSpec[]): { from: string; to: string } | null {
  const a = before.map((l) => l.key).join(', ');
  const b = after.map((l) => l.key).join(', ');
  return a === b ? null : { from: a, to: b };
}
