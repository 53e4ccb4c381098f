/**
 * The PROXY protocol encoders (src/http1/proxy-protocol.ts): byte-exact against a v2 header
 * HAProxy sent and against headers built by hand from the spec, an encode -> parse round
 * trip for v1 and v2 over IPv4 and IPv6 (IPv6 comes back in node's canonical form, for
 * fixed cases and for seeded random addresses with runs of zero groups), and the
 * arguments an encoder refuses.
 */
import { describe, it, expect } from 'vitest';
import net from 'node:net';
import { encodeProxyV1, encodeProxyV2, parseProxyHeader, ProxyProtocolError, type ProxyAddresses } from '../src/http1/proxy-protocol.js';
import { seededRandom } from '../src/balancer/balancer.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const canonical = (a: string) => new net.SocketAddress({ address: a, family: 'ipv6' }).address;

describe('encodeProxyV2', () => {
  it('matches byte for byte a v2 header HAProxy sent (TCP4 172.19.0.1:42578 -> 172.19.0.3:80)', () => {
    // captured with netcat behind HAProxy `send-proxy-v2` (github.com/seriousben/experiment-proxy-protocol, README)
    const captured = hex('0d0a0d0a000d0a515549540a 21 11 000c ac130001 ac130003 a652 0050');
    expect(encodeProxyV2({ family: 'tcp4', source: '172.19.0.1', sourcePort: 42578, dest: '172.19.0.3', destPort: 80 }).toString('hex')).toBe(captured.toString('hex'));
  });

  it('matches byte for byte a TCP6 header built by hand from the spec (section 2.2)', () => {
    const byHand = hex([
      '0d0a0d0a000d0a515549540a', // signature
      '21', // version 2, command PROXY
      '21', // AF_INET6, STREAM
      '0024', // address length 36
      '20010db8000000000000000000000001', // source 2001:db8::1
      '00000000000000000000ffffc0000201', // destination ::ffff:192.0.2.1
      'dc04', // source port 56324
      '01bb', // destination port 443
    ].join(''));
    expect(byHand.length).toBe(52);
    expect(encodeProxyV2({ family: 'tcp6', source: '2001:db8::1', sourcePort: 56324, dest: '::ffff:192.0.2.1', destPort: 443 }).toString('hex')).toBe(byHand.toString('hex'));
  });

  it('drops a zone id (it names an interface of the sender)', () => {
    const buf = encodeProxyV2({ family: 'tcp6', source: 'fe80::1%eth0', sourcePort: 1, dest: '::1', destPort: 2 });
    expect(buf.subarray(16, 32).toString('hex')).toBe('fe800000000000000000000000000001');
  });
});

describe('encodeProxyV1', () => {
  it('matches byte for byte the example line of the spec (section 2.1)', () => {
    const line = encodeProxyV1({ family: 'tcp4', source: '192.168.0.1', sourcePort: 56324, dest: '192.168.0.11', destPort: 443 });
    expect(line.toString('latin1')).toBe('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n');
  });

  it('writes IPv6 in the canonical compressed form and drops a zone id', () => {
    const line = encodeProxyV1({ family: 'tcp6', source: '2001:DB8:0:0:0:0:0:1', sourcePort: 1, dest: 'fe80::1%eth0', destPort: 2 });
    expect(line.toString('latin1')).toBe('PROXY TCP6 2001:db8::1 fe80::1 1 2\r\n');
  });
});

const FIXED: ProxyAddresses[] = [
  { family: 'tcp4', source: '192.0.2.1', sourcePort: 12345, dest: '198.51.100.7', destPort: 443 },
  { family: 'tcp4', source: '0.0.0.0', sourcePort: 0, dest: '255.255.255.255', destPort: 65535 },
  { family: 'tcp6', source: '2001:db8::1', sourcePort: 1, dest: '2001:db8:1:2:3:4:5:6', destPort: 8080 },
  { family: 'tcp6', source: '::', sourcePort: 65535, dest: '::1', destPort: 0 },
  { family: 'tcp6', source: '::ffff:10.0.0.1', sourcePort: 40000, dest: 'fe80::1:0:0:1', destPort: 80 },
  { family: 'tcp6', source: '1:0:0:2:0:0:0:3', sourcePort: 7, dest: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', destPort: 9 },
];

/** a random IPv6 address in full, uncompressed form, with a fair share of zero groups */
function randomIPv6(rnd: () => number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(rnd() < 0.5 ? '0' : Math.floor(rnd() * 0x10000).toString(16));
  return groups.join(':');
}

function roundTrip(h: ProxyAddresses, encode: (h: ProxyAddresses) => Buffer, version: 1 | 2): void {
  const buf = encode(h);
  const expected = h.family === 'tcp4' ? h : { ...h, source: canonical(h.source), dest: canonical(h.dest) };
  expect(parseProxyHeader(buf)).toEqual({ header: { version, command: 'proxy', ...expected }, length: buf.length });
}

describe('encode -> parse', () => {
  it.each(FIXED)('v1 round trip: $family $source -> $dest', (h) => roundTrip(h, encodeProxyV1, 1));
  it.each(FIXED)('v2 round trip: $family $source -> $dest', (h) => roundTrip(h, encodeProxyV2, 2));

  it('round trips 2000 seeded random IPv6 addresses through v1 and v2, each as node prints it', () => {
    const rnd = seededRandom(0x50524f58);
    for (let i = 0; i < 2000; i++) {
      const h: ProxyAddresses = { family: 'tcp6', source: randomIPv6(rnd), sourcePort: Math.floor(rnd() * 65536), dest: randomIPv6(rnd), destPort: Math.floor(rnd() * 65536) };
      roundTrip(h, encodeProxyV1, 1);
      roundTrip(h, encodeProxyV2, 2);
    }
  });

  it('the v2 IPv6 bytes are the address in network order (checked against the group values)', () => {
    const rnd = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const source = randomIPv6(rnd);
      const buf = encodeProxyV2({ family: 'tcp6', source, sourcePort: 1, dest: '::', destPort: 2 });
      const groups = source.split(':').map((g) => parseInt(g, 16));
      groups.forEach((g, j) => expect(buf.readUInt16BE(16 + 2 * j)).toBe(g));
    }
  });
});

describe('the encoders refuse', () => {
  const bad: [string, ProxyAddresses, RegExp][] = [
    ['an IPv6 address for tcp4', { family: 'tcp4', source: '::1', sourcePort: 1, dest: '127.0.0.1', destPort: 2 }, /source must be an IPv4 address for tcp4, got "::1"/],
    ['an IPv4 address for tcp6', { family: 'tcp6', source: '::1', sourcePort: 1, dest: '127.0.0.1', destPort: 2 }, /dest must be an IPv6 address for tcp6, got "127.0.0.1"/],
    ['a host name', { family: 'tcp4', source: 'localhost', sourcePort: 1, dest: '127.0.0.1', destPort: 2 }, /source must be an IPv4 address/],
    ['a port over 65535', { family: 'tcp4', source: '127.0.0.1', sourcePort: 65536, dest: '127.0.0.1', destPort: 2 }, /sourcePort must be an integer 0-65535, got 65536/],
    ['a fractional port', { family: 'tcp4', source: '127.0.0.1', sourcePort: 1, dest: '127.0.0.1', destPort: 1.5 }, /destPort must be an integer 0-65535, got 1.5/],
    ['an unknown family', { family: 'udp4' as 'tcp4', source: '127.0.0.1', sourcePort: 1, dest: '127.0.0.1', destPort: 2 }, /expected family "tcp4" or "tcp6", got "udp4"/],
  ];
  it.each(bad)('%s (v1 and v2)', (_name, h, message) => {
    for (const encode of [encodeProxyV1, encodeProxyV2]) {
      expect(() => encode(h)).toThrow(ProxyProtocolError);
      expect(() => encode(h)).toThrow(message);
    }
  });
});
