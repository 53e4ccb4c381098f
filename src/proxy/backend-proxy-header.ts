/**
 * The PROXY protocol header a backend with `proxy_protocol = "v1" | "v2"` receives first on
 * each connection: the client's address and port, and the proxy's own address and port of
 * the client's connection. The encoders are src/http1/proxy-protocol.ts's; this only picks
 * the addresses and one family for both (an IPv4 client on an IPv6 socket is written as
 * IPv4 when both ends are IPv4 or IPv4-mapped, else both as IPv6).
 */
import net, { type Socket } from 'node:net';
import { encodeProxyV1, encodeProxyV2 } from '../http1/proxy-protocol.js';

/** the client side of a request: its address (the PROXY source when it came through a PROXY listener) and its socket */
export interface ClientEnds {
  readonly client: string;
  /** the client's port as told by a PROXY listener's header (0: the socket's) */
  readonly clientPort?: number;
  readonly socket: Socket;
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

function unmap(a: string): string {
  const m = MAPPED.exec(a);
  return m ? m[1] : a;
}

function asV6(a: string): string {
  return net.isIPv4(a) ? `::ffff:${a}` : a;
}

export function backendProxyHeader(version: 'v1' | 'v2', from: ClientEnds): Buffer {
  const s = from.socket;
  let source = unmap(from.client);
  let dest = unmap(s.localAddress ?? '');
  // an address the socket no longer knows: the unspecified address of the other end's family
  if (net.isIP(source) === 0) source = net.isIPv6(dest) ? '::' : '0.0.0.0';
  if (net.isIP(dest) === 0) dest = net.isIPv6(source) ? '::' : '0.0.0.0';
  const v4 = net.isIPv4(source) && net.isIPv4(dest);
  const h = {
    family: v4 ? 'tcp4' as const : 'tcp6' as const,
    source: v4 ? source : asV6(source),
    sourcePort: from.clientPort || (s.remotePort ?? 0),
    dest: v4 ? dest : asV6(dest),
    destPort: s.localPort ?? 0,
  };
  return version === 'v1' ? encodeProxyV1(h) : encodeProxyV2(h);
}
