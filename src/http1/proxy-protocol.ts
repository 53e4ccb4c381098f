/**
 * The PROXY protocol (haproxy's doc/proxy-protocol.txt), versions 1 and 2, as a codec with
 * no I/O. An L4 balancer (ELB, HAProxy in TCP mode) prepends this header so the proxy
 * learns the client's real address; the listener feeds the first bytes of a connection to
 * parseProxyHeader until it answers, and a backend may be sent one built by the encoders.
 *
 * The parser is strict and decides as early as it can: a prefix of a valid header is
 * answered with null (wait for more), and the first byte that no valid header could have
 * there throws at once, so a client that speaks HTTP (or TLS) to a PROXY listener is
 * refused on its first bytes instead of being buffered until a timeout. Nothing a peer
 * sends is buffered past MAX_PROXY_HEADER (107 bytes for v1, as the spec says).
 *
 * Receivers only: TCP over IPv4/IPv6 and LOCAL (or UNSPEC / v1 UNKNOWN: use the socket's
 * own addresses). UDP and AF_UNIX headers are refused rather than degraded to "unknown":
 * luaproxy relays TCP, so such a header means a misconfigured balancer. TLVs are checked
 * for framing and skipped (a PP2_TYPE_CRC32C is not verified).
 */
import net from 'node:net';

export interface ProxyHeader {
  version: 1 | 2;
  /** 'local' (v2 LOCAL command, v2 PROXY with AF_UNSPEC, or v1 UNKNOWN): a health check by the balancer itself; use the socket's own addresses */
  command: 'proxy' | 'local';
  family: 'tcp4' | 'tcp6' | 'unknown';
  /** IPv6 in the canonical compressed form node prints (`2001:db8::1`, `::ffff:1.2.3.4`) */
  source: string | null;
  sourcePort: number | null;
  dest: string | null;
  destPort: number | null;
}

/** the connection addresses an encoder writes */
export interface ProxyAddresses {
  family: 'tcp4' | 'tcp6';
  source: string;
  sourcePort: number;
  dest: string;
  destPort: number;
}

/** a header that is not valid v1 or v2 (the message says what was expected and what arrived), or arguments an encoder refuses */
export class ProxyProtocolError extends Error {
  override name = 'ProxyProtocolError';
}

/**
 * The most bytes a v2 header may take before it is refused. The spec asks senders to fit
 * the whole header in one segment (under an MSS, about 1460 bytes); the addresses take
 * at most 216 and the registered TLVs (ALPN, authority, a 128-byte unique id, TLS names,
 * AWS/GCP/Azure ids) a few hundred more. 4096 leaves room for all of that and still
 * bounds what a slow or hostile peer makes the listener buffer (the length field alone
 * would allow 65551).
 */
export const MAX_PROXY_HEADER = 4096;

/** the longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports) */
export const MAX_PROXY_V1 = 107;

/** the 12 bytes every v2 header starts with */
export const PROXY_V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

const V1_PREFIX = 'PROXY ';
const V1_FAMILIES = ['TCP4', 'TCP6', 'UNKNOWN'];
const CMD_LOCAL = 0;
const CMD_PROXY = 1;
/** bytes of the v2 fixed part: signature, version/command, family/transport, length */
const V2_FIXED = 16;

function fail(message: string): never {
  throw new ProxyProtocolError(message);
}

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

function showByte(b: number): string {
  return b >= 0x21 && b < 0x7f ? `${hex(b)} ("${String.fromCharCode(b)}")` : hex(b);
}

function localHeader(version: 1 | 2): ProxyHeader {
  return { version, command: 'local', family: 'unknown', source: null, sourcePort: null, dest: null, destPort: null };
}

/**
 * Parse a header at the start of `buf`. Returns null when more bytes are needed (and none
 * of what is there contradicts a header), { header, length } when complete (length = bytes
 * consumed, the rest is the client's data), and throws ProxyProtocolError when the bytes
 * are not a valid v1 or v2 header or it exceeds MAX_PROXY_HEADER.
 */
export function parseProxyHeader(buf: Buffer): { header: ProxyHeader; length: number } | null {
  if (buf.length === 0) return null;
  if (buf[0] === PROXY_V2_SIGNATURE[0]) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  fail(`expected a PROXY protocol header ("PROXY " or the v2 signature), got first byte ${showByte(buf[0])}`);
}

// ---- version 2 (binary) ----

function parseV2(buf: Buffer): { header: ProxyHeader; length: number } | null {
  const sig = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < sig; i++) {
    if (buf[i] !== PROXY_V2_SIGNATURE[i]) fail(`v2: byte ${i} of the signature is ${showByte(buf[i])}, expected ${hex(PROXY_V2_SIGNATURE[i])}`);
  }
  if (buf.length < 13) return null;
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) fail(`v2: expected version 2 in the high 4 bits of byte 12, got ${verCmd >> 4} (byte ${hex(verCmd)})`);
  const cmd = verCmd & 0xf;
  if (cmd !== CMD_LOCAL && cmd !== CMD_PROXY) fail(`v2: expected command 0 (LOCAL) or 1 (PROXY), got ${cmd} (byte ${hex(verCmd)})`);
  if (buf.length < 14) return null;
  const famProto = buf[13];
  const fam = famProto >> 4;
  const proto = famProto & 0xf;
  if (fam > 3) fail(`v2: expected an address family 0-3 in the high 4 bits of byte 13, got ${fam} (byte ${hex(famProto)})`);
  if (proto > 2) fail(`v2: expected a transport 0-2 in the low 4 bits of byte 13, got ${proto} (byte ${hex(famProto)})`);
  if (cmd === CMD_PROXY) checkProxyFamily(famProto);
  if (buf.length < V2_FIXED) return null;
  const len = buf.readUInt16BE(14);
  const total = V2_FIXED + len;
  if (total > MAX_PROXY_HEADER) fail(`v2: the header is ${total} bytes (16 + an address length of ${len}), more than the ${MAX_PROXY_HEADER} accepted`);
  const addrLen = cmd === CMD_LOCAL ? 0 : famProto === 0x11 ? 12 : famProto === 0x21 ? 36 : 0;
  if (len < addrLen) fail(`v2: expected an address length of at least ${addrLen} for ${famProto === 0x11 ? 'TCP over IPv4' : 'TCP over IPv6'}, got ${len}`);
  if (buf.length < total) return null;
  // LOCAL: the balancer's own connection, the block is discarded unread (spec 2.2); UNSPEC likewise
  if (addrLen === 0) return { header: localHeader(2), length: total };
  checkTlvs(buf, V2_FIXED + addrLen, total);
  const v4 = famProto === 0x11;
  const a = V2_FIXED;
  const header: ProxyHeader = v4
    ? { version: 2, command: 'proxy', family: 'tcp4', source: formatIPv4(buf, a), dest: formatIPv4(buf, a + 4), sourcePort: buf.readUInt16BE(a + 8), destPort: buf.readUInt16BE(a + 10) }
    : { version: 2, command: 'proxy', family: 'tcp6', source: formatIPv6(buf, a), dest: formatIPv6(buf, a + 16), sourcePort: buf.readUInt16BE(a + 32), destPort: buf.readUInt16BE(a + 34) };
  return { header, length: total };
}

/** a PROXY command's family/transport byte: TCP over IPv4/IPv6 or fully unspecified */
function checkProxyFamily(b: number): void {
  if (b === 0x11 || b === 0x21 || b === 0x00) return;
  if (b === 0x12 || b === 0x22) fail(`v2: UDP over ${b === 0x12 ? 'IPv4' : 'IPv6'} (byte 13 = ${hex(b)}) is not supported: expected TCP (0x11 or 0x21)`);
  if (b >> 4 === 3) fail(`v2: AF_UNIX (byte 13 = ${hex(b)}) is not supported: expected TCP over IPv4 or IPv6 (0x11 or 0x21)`);
  fail(`v2: expected byte 13 to be 0x11 (TCP over IPv4), 0x21 (TCP over IPv6) or 0x00 (unspecified), got ${hex(b)}`);
}

/** the TLVs in buf[from, to) must tile it exactly: type (1), length (2), value */
function checkTlvs(buf: Buffer, from: number, to: number): void {
  let i = from;
  while (i < to) {
    if (to - i < 3) fail(`v2: ${to - i} byte(s) left after the TLVs at byte ${i}, expected a whole TLV (3 bytes at least) or none`);
    const len = buf.readUInt16BE(i + 1);
    if (i + 3 + len > to) fail(`v2: the TLV of type ${hex(buf[i])} at byte ${i} has a length of ${len}, but only ${to - i - 3} byte(s) of the header remain`);
    i += 3 + len;
  }
}

function formatIPv4(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

/** 16 bytes in network order, as node prints the address */
function formatIPv6(buf: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(at + i).toString(16));
  return canonicalIPv6(groups.join(':'));
}

function canonicalIPv6(address: string): string {
  return new net.SocketAddress({ address, family: 'ipv6' }).address;
}

// ---- version 1 (text) ----

function parseV1(buf: Buffer): { header: ProxyHeader; length: number } | null {
  const n = Math.min(buf.length, MAX_PROXY_V1);
  const text = buf.toString('latin1', 0, n);
  let end = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) fail(`v1: a LF without CR at byte ${i}, expected the line to end with CRLF`);
    if (c === 0x0d) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    if (buf.length >= MAX_PROXY_V1) fail(`v1: no CRLF in the first ${MAX_PROXY_V1} bytes (the longest line the spec allows)`);
    checkV1(text, false);
    return null;
  }
  if (end + 1 === n) {
    if (buf.length >= MAX_PROXY_V1) fail(`v1: no CRLF in the first ${MAX_PROXY_V1} bytes (the longest line the spec allows)`);
    checkV1(text.slice(0, end), true);
    return null;
  }
  if (text.charCodeAt(end + 1) !== 0x0a) fail(`v1: a CR without LF at byte ${end}, got ${showByte(text.charCodeAt(end + 1))} after it`);
  return { header: checkV1(text.slice(0, end), true), length: end + 2 };
}

/**
 * Check a v1 line without its CRLF. `whole`: the line is all there (its CR has arrived), so
 * every field must be complete; otherwise the last field may be a prefix of a valid one.
 */
function checkV1(s: string, whole: true): ProxyHeader;
function checkV1(s: string, whole: false): void;
function checkV1(s: string, whole: boolean): ProxyHeader | void {
  const head = s.slice(0, V1_PREFIX.length);
  if (!V1_PREFIX.startsWith(head)) fail(`v1: expected "PROXY ", got ${JSON.stringify(head)}`);
  if (s.length < V1_PREFIX.length) {
    if (whole) fail(`v1: the line ends after ${JSON.stringify(s)}, expected "PROXY " and a protocol`);
    return;
  }
  const fields = s.slice(V1_PREFIX.length).split(' ');
  const proto = fields[0];
  const protoDone = whole || fields.length > 1;
  if (!protoDone) {
    if (!V1_FAMILIES.some((f) => f.startsWith(proto))) fail(`v1: expected TCP4, TCP6 or UNKNOWN, got ${JSON.stringify(proto)}`);
    return;
  }
  // UNKNOWN: the receiver ignores whatever comes before the CRLF (spec 2.1)
  if (proto === 'UNKNOWN') return whole ? localHeader(1) : undefined;
  if (proto !== 'TCP4' && proto !== 'TCP6') fail(`v1: expected TCP4, TCP6 or UNKNOWN followed by a single space, got ${JSON.stringify(proto)}`);
  if (fields.length > 5) fail(`v1: expected 4 fields after ${proto} separated by single spaces, got ${JSON.stringify(s.slice(V1_PREFIX.length + proto.length + 1))}`);
  if (whole && fields.length < 5) fail(`v1: expected 4 fields after ${proto} (source, destination, source port, destination port), got ${fields.length - 1}`);
  const v4 = proto === 'TCP4';
  const names = ['', 'source address', 'destination address', 'source port', 'destination port'];
  for (let i = 1; i < fields.length; i++) {
    const complete = whole || i < fields.length - 1;
    const f = fields[i];
    const ok = i <= 2 ? (v4 ? ipv4Field(f, complete) : ipv6Field(f, complete)) : portField(f, complete);
    if (!ok) {
      const want = i <= 2 ? (v4 ? 'an IPv4 dotted quad without leading zeros' : 'an IPv6 address') : 'a port 0-65535 without leading zeros';
      fail(`v1: the ${names[i]} of ${proto} must be ${want}, got ${JSON.stringify(f)}${complete ? '' : ' (so far)'}`);
    }
  }
  if (!whole) return;
  return {
    version: 1,
    command: 'proxy',
    family: v4 ? 'tcp4' : 'tcp6',
    source: v4 ? fields[1] : canonicalIPv6(fields[1]),
    dest: v4 ? fields[2] : canonicalIPv6(fields[2]),
    sourcePort: Number(fields[3]),
    destPort: Number(fields[4]),
  };
}

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** a dotted quad (complete) or a prefix of one */
function ipv4Field(f: string, complete: boolean): boolean {
  const parts = f.split('.');
  if (parts.length > 4 || (complete && parts.length !== 4)) return false;
  return parts.every((p, i) => (!complete && i === parts.length - 1 && p === '') || (OCTET.test(p) && Number(p) <= 255));
}

/** what net.isIPv6 accepts, less zone ids (complete), or a string that could start one */
function ipv6Field(f: string, complete: boolean): boolean {
  if (complete) return !f.includes('%') && net.isIPv6(f);
  // 45 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
  return f.length <= 45 && /^[0-9A-Fa-f:.]*$/.test(f) && !f.includes(':::') && f.split('::').length <= 2 && !/[0-9A-Fa-f]{5}/.test(f);
}

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

function portField(f: string, complete: boolean): boolean {
  if (!complete && f === '') return true;
  return PORT.test(f) && Number(f) <= 65535;
}

// ---- encoders ----

function checkAddresses(h: ProxyAddresses): { source: string; dest: string } {
  if (h.family !== 'tcp4' && h.family !== 'tcp6') fail(`cannot encode a PROXY header: expected family "tcp4" or "tcp6", got ${JSON.stringify(h.family)}`);
  const v4 = h.family === 'tcp4';
  const out: string[] = [];
  for (const [name, value] of [['source', h.source], ['dest', h.dest]] as const) {
    // a zone id names an interface of the sender; it means nothing to the receiver and has no place in the header
    const addr = v4 ? value : String(value).replace(/%.*$/, '');
    if (v4 ? !net.isIPv4(addr) : !net.isIPv6(addr)) fail(`cannot encode a PROXY header: ${name} must be an ${v4 ? 'IPv4' : 'IPv6'} address for ${h.family}, got ${JSON.stringify(value)}`);
    out.push(v4 ? addr : canonicalIPv6(addr));
  }
  for (const [name, port] of [['sourcePort', h.sourcePort], ['destPort', h.destPort]] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`cannot encode a PROXY header: ${name} must be an integer 0-65535, got ${String(port)}`);
  }
  return { source: out[0], dest: out[1] };
}

/** "PROXY TCP4|TCP6 src dst sport dport\r\n", IPv6 in node's canonical form */
export function encodeProxyV1(h: ProxyAddresses): Buffer {
  const { source, dest } = checkAddresses(h);
  return Buffer.from(`PROXY ${h.family === 'tcp4' ? 'TCP4' : 'TCP6'} ${source} ${dest} ${h.sourcePort} ${h.destPort}\r\n`, 'latin1');
}

/** a v2 PROXY command for TCP over IPv4 (28 bytes) or IPv6 (52 bytes), without TLVs */
export function encodeProxyV2(h: ProxyAddresses): Buffer {
  const { source, dest } = checkAddresses(h);
  const v4 = h.family === 'tcp4';
  const addrLen = v4 ? 12 : 36;
  const out = Buffer.alloc(V2_FIXED + addrLen);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out[12] = 0x20 | CMD_PROXY;
  out[13] = v4 ? 0x11 : 0x21;
  out.writeUInt16BE(addrLen, 14);
  const put = v4 ? writeIPv4 : writeIPv6;
  const step = v4 ? 4 : 16;
  put(out, V2_FIXED, source);
  put(out, V2_FIXED + step, dest);
  out.writeUInt16BE(h.sourcePort, V2_FIXED + 2 * step);
  out.writeUInt16BE(h.destPort, V2_FIXED + 2 * step + 2);
  return out;
}

function writeIPv4(out: Buffer, at: number, addr: string): void {
  addr.split('.').forEach((p, i) => (out[at + i] = Number(p)));
}

/** a valid IPv6 text (checked by net.isIPv6, no zone id) into 16 bytes */
function writeIPv6(out: Buffer, at: number, addr: string): void {
  let s = addr;
  let tail: string | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = s.slice(lastColon + 1);
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = s.includes('::') ? s.split('::') : [s, null];
  const l = left === '' ? [] : left.split(':');
  const r = right === null || right === '' ? [] : right.split(':');
  const groups = right === null ? l : [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), at + 2 * i));
  if (tail !== null) writeIPv4(out, at + 12, tail);
}
