/**
 * The peers whose X-Forwarded-For and Forwarded the proxy extends (`forwarded.trust`).
 * One parser for an entry ("10.0.0.0/8", "fd00::/8", "192.0.2.7"), used both by the
 * settings check and by the node:net BlockList the proxy asks per request, so the two
 * never disagree. The BlockList is built once per list (a loaded config's), not per
 * request.
 */
import net from 'node:net';
import { LpxError } from '../core/errors.js';

export interface TrustEntry {
  address: string;
  /** the prefix length; a single address is a /32 (IPv4) or /128 (IPv6) */
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** an IP address or `address/prefix`, or null when `s` is neither */
export function trustEntry(s: string): TrustEntry | null {
  const slash = s.indexOf('/');
  const address = slash < 0 ? s : s.slice(0, slash);
  const v = net.isIP(address);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return null;
    prefix = Number(p);
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

const built = new WeakMap<readonly string[], net.BlockList | null>();

/**
 * The BlockList of a trust list the settings check accepted, made on first use and kept
 * for as long as the list lives; null for an empty list (nobody is trusted).
 */
export function trustedPeers(trust: readonly string[]): net.BlockList | null {
  let list = built.get(trust);
  if (list !== undefined) return list;
  list = null;
  for (const s of trust) {
    const e = trustEntry(s);
    // load.ts refuses such a list with file:line; this is for a Settings made in code
    if (e === null) throw new LpxError('LPX_CONFIG_INVALID', `forwarded.trust: expected an IP address or CIDR like "10.0.0.0/8", got ${JSON.stringify(s)}`);
    list ??= new net.BlockList();
    if (e.prefix === (e.family === 'ipv4' ? 32 : 128)) list.addAddress(e.address, e.family);
    else list.addSubnet(e.address, e.prefix, e.family);
  }
  built.set(trust, list);
  return list;
}
