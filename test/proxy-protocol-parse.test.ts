/**
 * The PROXY protocol parser (src/http1/proxy-protocol.ts): the valid v1 and v2 forms and
 * what they yield, LOCAL / UNKNOWN as 'local', null for every prefix of a valid header,
 * an invalid header refused at the first byte that contradicts it (with a message that
 * says what was wrong), TLVs skipped but checked for framing, the client's bytes after
 * the header left alone, and the size bounds (107 bytes for v1, MAX_PROXY_HEADER for v2).
 */
import { describe, it, expect } from 'vitest';
import { parseProxyHeader, ProxyProtocolError, MAX_PROXY_HEADER, MAX_PROXY_V1, type ProxyHeader } from '../src/http1/proxy-protocol.js';

const SIG = '0d0a0d0a000d0a515549540a';
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const text = (s: string) => Buffer.from(s, 'latin1');

/** v2 TCP over IPv4: 172.19.0.1:42578 -> 172.19.0.3:80, followed by `tlvs` (hex) */
function v2tcp4(tlvs = ''): Buffer {
  const t = hex(tlvs);
  return Buffer.concat([hex(`${SIG} 21 11`), u16(12 + t.length), hex('ac130001 ac130003 a652 0050'), t]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** v2 TCP over IPv6: 2001:db8::1:56324 -> 2001:db8::11:443, with an ALPN "h2" and a NOOP TLV */
const V2_TCP6_TLVS = hex(`${SIG} 21 21 002d
  20010db8000000000000000000000001 20010db8000000000000000000000011 dc04 01bb
  01 0002 6832  04 0001 00`);

const LOCAL = { command: 'local', family: 'unknown', source: null, sourcePort: null, dest: null, destPort: null };

/** headers that parse, with what they yield */
const VALID: [string, Buffer, ProxyHeader][] = [
  ['v1 TCP4 (the spec example)', text('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'), { version: 1, command: 'proxy', family: 'tcp4', source: '192.168.0.1', sourcePort: 56324, dest: '192.168.0.11', destPort: 443 }],
  ['v1 TCP4 with ports 0 and 65535', text('PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n'), { version: 1, command: 'proxy', family: 'tcp4', source: '0.0.0.0', sourcePort: 0, dest: '255.255.255.255', destPort: 65535 }],
  ['v1 TCP6, made canonical', text('PROXY TCP6 2001:DB8:0:0:0:0:0:1 0:0:0:0:0:FFFF:102:304 1 2\r\n'), { version: 1, command: 'proxy', family: 'tcp6', source: '2001:db8::1', sourcePort: 1, dest: '::ffff:1.2.3.4', destPort: 2 }],
  ['v1 TCP6 at full width', text('PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n'), { version: 1, command: 'proxy', family: 'tcp6', source: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', sourcePort: 65535, dest: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', destPort: 65535 }],
  ['v1 UNKNOWN, short form', text('PROXY UNKNOWN\r\n'), { version: 1, ...LOCAL } as ProxyHeader],
  ['v1 UNKNOWN, worst case of the spec (107 bytes)', text(`PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`), { version: 1, ...LOCAL } as ProxyHeader],
  ['v2 TCP4 (captured from HAProxy)', v2tcp4(), { version: 2, command: 'proxy', family: 'tcp4', source: '172.19.0.1', sourcePort: 42578, dest: '172.19.0.3', destPort: 80 }],
  ['v2 TCP6 with TLVs', V2_TCP6_TLVS, { version: 2, command: 'proxy', family: 'tcp6', source: '2001:db8::1', sourcePort: 56324, dest: '2001:db8::11', destPort: 443 }],
  ['v2 LOCAL, no addresses', hex(`${SIG} 20 00 0000`), { version: 2, ...LOCAL } as ProxyHeader],
  ['v2 LOCAL with TCP4 addresses (ignored)', hex(`${SIG} 20 11 000c 7f000001 7f000001 0001 0002`), { version: 2, ...LOCAL } as ProxyHeader],
  ['v2 PROXY with AF_UNSPEC (use the socket addresses)', hex(`${SIG} 21 00 0003 aabbcc`), { version: 2, ...LOCAL } as ProxyHeader],
];

/** the smallest prefix of `buf` that throws, checking that every shorter one asked for more */
function firstThrow(buf: Buffer): { at: number; error: unknown } {
  for (let k = 1; k <= buf.length; k++) {
    let r: unknown;
    try {
      r = parseProxyHeader(buf.subarray(0, k));
    } catch (error) {
      return { at: k, error };
    }
    expect(r, `prefix of ${k} bytes`).toBeNull();
  }
  throw new Error(`no prefix of ${JSON.stringify(buf.toString('latin1'))} throws`);
}

describe('parseProxyHeader', () => {
  it.each(VALID)('%s: parses the whole header', (_name, buf, header) => {
    expect(parseProxyHeader(buf)).toEqual({ header, length: buf.length });
  });

  it('the worst-case UNKNOWN line of the spec is exactly the 107-byte limit', () => {
    expect(VALID[5][1].length).toBe(MAX_PROXY_V1);
  });

  it.each(VALID)('%s: every prefix asks for more bytes (null)', (_name, buf) => {
    for (let k = 0; k < buf.length; k++) expect(parseProxyHeader(buf.subarray(0, k)), `prefix of ${k} bytes`).toBeNull();
  });

  it.each(VALID)('%s: the client data after the header is left alone', (_name, buf) => {
    const data = text('GET / HTTP/1.1\r\nHost: a\r\n\r\n\x00\r\n');
    const all = Buffer.concat([buf, data]);
    const before = Buffer.from(all);
    const r = parseProxyHeader(all);
    expect(r?.length).toBe(buf.length);
    expect(all.subarray(r!.length).equals(data)).toBe(true);
    expect(all.equals(before)).toBe(true);
  });

  it('a client data byte that happens to be CR or LF right after a v1 header is data', () => {
    const r = parseProxyHeader(text('PROXY UNKNOWN\r\n\r\n'));
    expect(r?.length).toBe(15);
  });

  // [what, bytes, the prefix length that first throws, message]
  const INVALID: [string, Buffer, number, RegExp][] = [
    ['an HTTP request', text('GET / HTTP/1.1\r\n'), 1, /got first byte 0x47 \("G"\)/],
    ['a TLS ClientHello', hex('160301020001'), 1, /got first byte 0x16/],
    ['an HTTP POST (starts with P)', text('POST / HTTP/1.1\r\n'), 2, /v1: expected "PROXY ", got "PO"/],
    ['HTTP/2 preface', text('PRI * HTTP/2.0\r\n'), 3, /v1: expected "PROXY ", got "PRI"/],
    ['lower-case proxy', text('proxy TCP4'), 1, /first byte 0x70/],
    ['"PROXY" then CRLF', text('PROXY\r\n'), 6, /the line ends after "PROXY", expected "PROXY " and a protocol/],
    ['an unknown protocol', text('PROXY TCP5 1.2.3.4'), 10, /expected TCP4, TCP6 or UNKNOWN, got "TCP5"/],
    ['UDP4 in v1 (U could start UNKNOWN)', text('PROXY UDP4 1.2.3.4'), 8, /expected TCP4, TCP6 or UNKNOWN, got "UD"/],
    ['two spaces after PROXY', text('PROXY  TCP4 1.2.3.4'), 7, /expected TCP4, TCP6 or UNKNOWN followed by a single space, got ""/],
    ['UNKNOWN glued to more', text('PROXY UNKNOWNX\r\n'), 14, /got "UNKNOWNX"/],
    ['an IPv4 octet with a leading zero', text('PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n'), 19, /source address of TCP4 must be an IPv4 dotted quad without leading zeros, got "1.2.3.04"/],
    ['an IPv4 octet over 255', text('PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n'), 28, /destination address of TCP4 .* got "5.6.7.256"/],
    ['an IPv4 address with three octets', text('PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n'), 17, /source address .* got "1.2.3"$/],
    ['an IPv6 address for TCP4', text('PROXY TCP4 ::1 ::1 1 2\r\n'), 12, /source address of TCP4 .* got ":" \(so far\)/],
    ['an IPv4 address for TCP6', text('PROXY TCP6 1.2.3.4 ::1 1 2\r\n'), 19, /source address of TCP6 must be an IPv6 address, got "1.2.3.4"/],
    ['an IPv6 zone id', text('PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'), 19, /source address of TCP6/],
    ['an IPv6 group of five digits', text('PROXY TCP6 2001:0db80::1 ::1 1 2\r\n'), 21, /got "2001:0db80" \(so far\)/],
    ['two "::" in an IPv6 address', text('PROXY TCP6 1::2::3 ::1 1 2\r\n'), 17, /got "1::2::" \(so far\)/],
    ['a port with a leading zero', text('PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n'), 29, /source port of TCP4 must be a port 0-65535 without leading zeros, got "08"/],
    ['a port over 65535', text('PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n'), 34, /destination port .* got "65536"/],
    ['a missing port', text('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), 29, /expected 4 fields after TCP4 .* got 3/],
    ['a fifth field', text('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'), 31, /expected 4 fields after TCP4 separated by single spaces, got "1.2.3.4 5.6.7.8 1 2 "/],
    ['a trailing space', text('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n'), 31, /expected 4 fields/],
    ['a line ended by LF alone', text('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nGET'), 31, /a LF without CR at byte 30/],
    ['a line ended by CR alone', text('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rGET'), 32, /a CR without LF at byte 30, got 0x47/],
    ['a v2 signature with a wrong byte', hex('0d0a0d0a000d0a51555854'), 10, /byte 9 of the signature is 0x58 \("X"\), expected 0x49/],
    ['two CRLFs (a request with an empty line?)', hex('0d0a0d0a0d0a'), 5, /byte 4 of the signature is 0x0d, expected 0x00/],
    ['v2 version 1', hex(`${SIG} 11 11 000c`), 13, /expected version 2 .* got 1/],
    ['v2 command 2', hex(`${SIG} 22 11 000c`), 13, /expected command 0 \(LOCAL\) or 1 \(PROXY\), got 2/],
    ['v2 UDP over IPv4', hex(`${SIG} 21 12 000c`), 14, /UDP over IPv4 \(byte 13 = 0x12\) is not supported/],
    ['v2 UDP over IPv6', hex(`${SIG} 21 22 0024`), 14, /UDP over IPv6 .* not supported/],
    ['v2 AF_UNIX stream', hex(`${SIG} 21 31 00d8`), 14, /AF_UNIX \(byte 13 = 0x31\) is not supported/],
    ['v2 AF_INET without a transport', hex(`${SIG} 21 10 000c`), 14, /expected byte 13 to be 0x11 .* got 0x10/],
    ['v2 family 4', hex(`${SIG} 20 41 000c`), 14, /expected an address family 0-3 .* got 4/],
    ['v2 transport 3 (even for LOCAL)', hex(`${SIG} 20 13 000c`), 14, /expected a transport 0-2 .* got 3/],
    ['v2 TCP4 with a short address block', hex(`${SIG} 21 11 000b 01020304 05060708 0001 00`), 16, /expected an address length of at least 12 for TCP over IPv4, got 11/],
    ['v2 TCP6 with the length of TCP4', hex(`${SIG} 21 21 000c 01020304 05060708 0001 0002`), 16, /at least 36 for TCP over IPv6, got 12/],
    ['v2 bytes after the TLVs too few for a TLV', v2tcp4('04 0000 0102'), 28 + 5, /2 byte\(s\) left after the TLVs at byte 31/],
    ['v2 a TLV longer than the header', v2tcp4('01 0005 683268'), 28 + 6, /TLV of type 0x01 at byte 28 has a length of 5, but only 3 byte\(s\) of the header remain/],
  ];

  it.each(INVALID)('%s: throws as soon as the bytes contradict a header', (_name, buf, at, message) => {
    const { at: got, error } = firstThrow(buf);
    expect(error).toBeInstanceOf(ProxyProtocolError);
    expect((error as Error).message).toMatch(message);
    expect(got).toBe(at);
    // the whole of it in one read (a different path: the line is complete) is refused too
    expect(() => parseProxyHeader(buf)).toThrow(ProxyProtocolError);
  });

  it('a v1 line without CRLF in its first 107 bytes is refused when the 107th arrives', () => {
    const long = text(`PROXY UNKNOWN ${'a'.repeat(120)}\r\n`);
    const { at, error } = firstThrow(long);
    expect(at).toBe(MAX_PROXY_V1);
    expect((error as Error).message).toMatch(/no CRLF in the first 107 bytes/);
    // a 108-byte line whose CR is the 107th byte: refused too, LF or not
    const just = text(`PROXY UNKNOWN ${'a'.repeat(92)}\r\n`);
    expect(just.length).toBe(MAX_PROXY_V1 + 1);
    expect(firstThrow(just).at).toBe(MAX_PROXY_V1);
  });

  it(`a v2 header of exactly MAX_PROXY_HEADER (${MAX_PROXY_HEADER}) bytes is accepted; one byte more is refused from its length field`, () => {
    const room = MAX_PROXY_HEADER - 28 - 3;
    const max = v2tcp4(`04 ${u16(room).toString('hex')} ${'00'.repeat(room)}`);
    expect(max.length).toBe(MAX_PROXY_HEADER);
    expect(parseProxyHeader(max)?.length).toBe(MAX_PROXY_HEADER);

    const over = v2tcp4(`04 ${u16(room + 1).toString('hex')} ${'00'.repeat(room + 1)}`);
    const { at, error } = firstThrow(over);
    expect(at).toBe(16);
    expect((error as Error).message).toMatch(/the header is 4097 bytes \(16 \+ an address length of 4081\), more than the 4096 accepted/);
  });

  it('the largest length field (65535) is refused on the 16th byte, before any of its body', () => {
    expect(() => parseProxyHeader(hex(`${SIG} 21 11 ffff`))).toThrow(/the header is 65551 bytes/);
  });

  it('v2 LOCAL skips its block unread, whatever it holds', () => {
    const r = parseProxyHeader(hex(`${SIG} 20 00 0005 0102030405 474554`));
    expect(r).toEqual({ header: { version: 2, ...LOCAL }, length: 21 });
  });
});
