/**
 * One header policy (src/http1/header-policy.ts): the parser's hand-unrolled name
 * classifier marks exactly the policy's hop-by-hop names as hop-by-hop, in any letter
 * case, and the heads the proxy writes (src/proxy/headers.ts) drop exactly the policy's
 * headers from a forwarded request and response and from a direct answer, keeping every
 * other header as it came.
 */
import { describe, it, expect } from 'vitest';
import { HOP_BY_HOP, FRAMING, ROUTE_MAY_NOT_SET } from '../src/http1/header-policy.js';
import {
  headEnd, parseRequestHead, parseResponseHead,
  K_HOP, K_CONNECTION, K_UPGRADE, K_TRANSFER_ENCODING, K_CONTENT_LENGTH, K_EXPECT,
} from '../src/http1/parse.js';
import { backendRequestHead, clientResponseHead, directHeaders, F_LENGTH, F_CHUNKED } from '../src/proxy/headers.js';

/** a real value for each header the tests send */
const VALUES: Record<string, string> = {
  connection: 'keep-alive', 'keep-alive': 'timeout=5, max=100', 'proxy-connection': 'keep-alive', te: 'trailers',
  trailer: 'Expires', upgrade: 'websocket', 'proxy-authorization': 'Basic dXNlcjpwYXNz',
  'proxy-authenticate': 'Basic realm="upstream"', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA',
  'content-length': '5', 'transfer-encoding': 'chunked', expect: '100-continue',
};
/** end-to-end headers, some of them a letter away from a hop-by-hop name */
const OTHERS: Record<string, string> = {
  accept: '*/*', cookie: 'sid=abc', 'user-agent': 'curl/8.5.0', 'cache-control': 'no-cache', 'x-request-id': '7f3a',
  'te-x': '1', tf: '1', 'keep-alivf': '1', 'proxy-authorizatioN-x': 'y', trailers: 'x', 'http2-settingz': 'x',
  'upgrade-insecure-requests': '1', 'proxy-status': 'cache; hit', 'content-lengthy': '3', connectiom: 'x',
};
/** every name the tests send: the policy's, the ones above (so a name the parser classes hop-by-hop but the policy dropped is caught) */
const NAMES = [...new Set([...HOP_BY_HOP, ...FRAMING, ...ROUTE_MAY_NOT_SET, ...Object.keys(VALUES), ...Object.keys(OTHERS).map((n) => n.toLowerCase())])];
const HOP_KINDS = [K_HOP, K_CONNECTION, K_UPGRADE, K_TRANSFER_ENCODING];

/** `name` in three letter cases, by index */
function cased(name: string, i: number): string {
  if (i % 3 === 0) return name;
  if (i % 3 === 1) return name.toUpperCase();
  return name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

/** upper or title case, so a header sent never reads like the lower-case one the proxy writes */
const notLower = (name: string, i: number): string => cased(name, 1 + (i % 2));

function request(lines: string[]): ReturnType<typeof parseRequestHead> {
  const buf = Buffer.from(`POST /x HTTP/1.1\r\nHost: a.example\r\n${lines.join('')}\r\n`, 'latin1');
  return parseRequestHead(buf, 0, headEnd(buf, 0, 0, 1 << 16));
}

function response(lines: string[]): ReturnType<typeof parseResponseHead> {
  const buf = Buffer.from(`HTTP/1.1 200 OK\r\n${lines.join('')}\r\n`, 'latin1');
  return parseResponseHead(buf, 0, headEnd(buf, 0, 0, 1 << 16));
}

const valueOf = (name: string) => VALUES[name] ?? OTHERS[name] ?? Object.entries(OTHERS).find(([k]) => k.toLowerCase() === name)![1];

describe('the header policy', () => {
  it('has RFC 9110 7.6.1\'s hop-by-hop headers, and a route may set none of them, the framing or Expect', () => {
    for (const n of ['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade']) expect(HOP_BY_HOP.has(n), n).toBe(true);
    expect([...ROUTE_MAY_NOT_SET].sort()).toEqual([...new Set([...FRAMING, ...HOP_BY_HOP, 'expect'])].sort());
    for (const n of NAMES) expect(n, 'policy names are lower case').toBe(n.toLowerCase());
  });

  it('is the parser\'s list: a name is classed hop-by-hop exactly when the policy lists it, in any letter case', () => {
    for (let c = 0; c < 3; c++) {
      for (const name of NAMES) {
        const sent = cased(name, c);
        const line = `${sent}: ${valueOf(name)}\r\n`;
        for (const head of [request([line]), response([line])]) {
          const kind = head.kinds[head.kinds.length - 1];
          expect(head.headers[head.headers.length - 2]).toBe(sent);
          expect(HOP_KINDS.includes(kind), `${sent} hop-by-hop`).toBe(HOP_BY_HOP.has(name));
          expect(kind === K_CONTENT_LENGTH || kind === K_TRANSFER_ENCODING, `${sent} framing`).toBe(FRAMING.has(name));
        }
        expect(request([line]).kinds.at(-1) === K_EXPECT, `${sent} expect`).toBe(name === 'expect');
      }
    }
  });

  it('a forwarded request loses exactly the listed headers (hop-by-hop, framing, Expect) and keeps every other one as sent', () => {
    for (const framing of ['content-length', 'transfer-encoding']) {
      const sent = [...NAMES].filter((n) => !FRAMING.has(n) || n === framing);
      const lines = sent.map((n, i) => `${notLower(n, i)}: ${valueOf(n.toLowerCase())}\r\n`);
      const out = backendRequestHead(request(lines), '/x', '192.0.2.1', null, null, null);
      for (const l of lines) {
        const name = l.slice(0, l.indexOf(':')).toLowerCase();
        expect(out.includes(l), `${JSON.stringify(l)} ${ROUTE_MAY_NOT_SET.has(name) ? 'dropped' : 'kept'}`).toBe(!ROUTE_MAY_NOT_SET.has(name));
      }
      // the framing written is the proxy's own, once
      expect(out.match(/^(content-length|transfer-encoding): /gim)).toEqual([framing === 'content-length' ? 'content-length: ' : 'transfer-encoding: ']);
    }
  });

  it('a forwarded response and a direct answer lose exactly the hop-by-hop and framing headers', () => {
    // the parser refuses Content-Length with Transfer-Encoding: this response is framed by its length
    const sent = NAMES.filter((n) => n !== 'transfer-encoding');
    const lines = sent.map((n, i) => `${notLower(n, i)}: ${valueOf(n.toLowerCase())}\r\n`);
    const r = response(lines);
    for (const [framing, written] of [[F_LENGTH, 'content-length: 5'], [F_CHUNKED, 'transfer-encoding: chunked']] as const) {
      const out = clientResponseHead(r, framing, null);
      for (const l of lines) {
        const name = l.slice(0, l.indexOf(':')).toLowerCase();
        const listed = HOP_BY_HOP.has(name) || FRAMING.has(name);
        expect(out.includes(l), `${JSON.stringify(l)} ${listed ? 'dropped' : 'kept'}`).toBe(!listed);
      }
      expect(out.match(/^(content-length|transfer-encoding): .*$/gim)).toEqual([written]);
    }
    const pairs = NAMES.map((n, i) => [cased(n, i), valueOf(n.toLowerCase())] as [string, string]);
    const direct = directHeaders(200, pairs, Buffer.from('hello'));
    const names: string[] = direct.filter((_, i) => i % 2 === 0);
    expect(names).toEqual([...pairs.filter(([n]) => !HOP_BY_HOP.has(n.toLowerCase()) && !FRAMING.has(n.toLowerCase())).map(([n]) => n), 'content-type', 'content-length']);
  });
});
