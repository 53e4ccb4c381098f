/**
 * The strict request-head parser (src/http1/parse.ts) tested directly: every accepted form
 * and the fields it yields, every refusal with its status (400/431/501/505), and heads
 * that arrive split at every byte boundary, fed to headEnd with `scanned` exactly as
 * src/proxy/client.ts does. A head that is ambiguous must be refused, never guessed.
 */
import { describe, it, expect } from 'vitest';
import {
  headEnd, parseRequestHead, leadingEmptyLines, HttpParseError, type RequestHead,
  K_OTHER, K_HOST, K_CONTENT_LENGTH, K_TRANSFER_ENCODING, K_CONNECTION, K_UPGRADE, K_EXPECT,
  K_HOP, K_X_FORWARDED_FOR, K_X_FORWARDED_OTHER, K_DATE,
} from '../src/http1/parse.js';

const MAX = 16 * 1024;
const H = 'Host: a.example\r\n';

/** one-shot, as client.ts: skip leading empty lines, find the end, parse; null while incomplete */
function parse(s: string | Buffer, max = MAX): RequestHead | null {
  let buf = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  buf = buf.subarray(leadingEmptyLines(buf, 0));
  const end = headEnd(buf, 0, 0, max);
  if (end < 0) return null;
  return parseRequestHead(buf, 0, end);
}

/** the error parse() throws, or a failure when it accepts */
function refusal(s: string, max = MAX): HttpParseError {
  let head: RequestHead | null;
  try {
    head = parse(s, max);
  } catch (e) {
    if (!(e instanceof HttpParseError)) throw e;
    return e;
  }
  throw new Error(`accepted ${JSON.stringify(s)} as ${JSON.stringify(head)}`);
}

function refused(s: string, status: number, max = MAX): void {
  expect(refusal(s, max).status, JSON.stringify(s)).toBe(status);
}

/**
 * Feed `pieces` one by one the way ClientConn.parseNext does (concat, skip leading empty
 * lines, headEnd with the bytes already scanned). Returns the head and the bytes left after it.
 */
function parseIncremental(pieces: Buffer[], max = MAX): { head: RequestHead; rest: Buffer } | null {
  let buf: Buffer | null = null;
  let scanned = 0;
  for (const d of pieces) {
    buf = buf === null ? d : Buffer.concat([buf, d]);
    const skip = leadingEmptyLines(buf, 0);
    if (skip > 0) {
      buf = buf.subarray(skip);
      if (buf.length === 0) { buf = null; continue; }
    }
    const end = headEnd(buf, 0, scanned, max);
    if (end < 0) { scanned = buf.length; continue; }
    return { head: parseRequestHead(buf, 0, end), rest: buf.subarray(end) };
  }
  return null;
}

/** every way to cut `s` in two, plus byte by byte */
function splits(s: string): Buffer[][] {
  const b = Buffer.from(s, 'latin1');
  const out: Buffer[][] = [];
  for (let k = 1; k < b.length; k++) out.push([Buffer.from(b.subarray(0, k)), Buffer.from(b.subarray(k))]);
  out.push([...b].map((c) => Buffer.from([c])));
  return out;
}

describe('request heads: accepted forms and parsed fields', () => {
  it('a plain GET yields method, target, version, headers and size', () => {
    const s = `GET /p?q=1 HTTP/1.1\r\n${H}Accept: */*\r\n\r\n`;
    const h = parse(s)!;
    expect(h.method).toBe('GET');
    expect(h.target).toBe('/p?q=1');
    expect(h.minor).toBe(1);
    expect(h.headers).toEqual(['Host', 'a.example', 'Accept', '*/*']);
    expect(h.kinds).toEqual([K_HOST, K_OTHER]);
    expect(h.host).toBe('a.example');
    expect(h.contentLength).toBe(-1);
    expect(h.chunked).toBe(false);
    expect(h.hasTransferEncoding).toBe(false);
    expect(h.connection).toBeNull();
    expect(h.close).toBe(false);
    expect(h.connectionUpgrade).toBe(false);
    expect(h.upgrade).toBeNull();
    expect(h.listed).toBeNull();
    expect(h.expect).toBeNull();
    expect(h.size).toBe(s.length);
  });

  it('headEnd points just past CRLF CRLF and leaves the body alone; size counts only the head', () => {
    const head = `POST /u HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\n`;
    const buf = Buffer.from(`${head}hello`, 'latin1');
    const end = headEnd(buf, 0, 0, MAX);
    expect(end).toBe(head.length);
    const h = parseRequestHead(buf, 0, end);
    expect(h.size).toBe(head.length);
    expect(h.contentLength).toBe(5);
    // a head that starts inside a larger buffer (a pipelined request)
    const two = Buffer.from(`${head}hello${head}hello`, 'latin1');
    const from = head.length + 5;
    const end2 = headEnd(two, from, 0, MAX);
    expect(end2).toBe(from + head.length);
    expect(parseRequestHead(two, from, end2).size).toBe(head.length);
  });

  it('names keep their case; values lose surrounding OWS (SP and HTAB) but keep inner whitespace', () => {
    const h = parse(`GET / HTTP/1.1\r\n${H}x-CuStOm-NaMe: \t v a\tl \t \r\nEmpty:\r\nOnly-Ws: \t \r\nObs: caf\xe9\r\n\r\n`)!;
    expect(h.headers).toEqual(['Host', 'a.example', 'x-CuStOm-NaMe', 'v a\tl', 'Empty', '', 'Only-Ws', '', 'Obs', 'caf\xe9']);
  });

  it('every tchar is allowed in a name', () => {
    const name = "!#$%&'*+-.^_`|~09AZaz";
    const h = parse(`GET / HTTP/1.1\r\n${H}${name}: v\r\n\r\n`)!;
    expect(h.headers[2]).toBe(name);
  });

  it('gives each known name its kind, whatever its case', () => {
    const names: Array<[string, number]> = [
      ['hOsT', K_HOST], ['content-LENGTH', K_CONTENT_LENGTH], ['Connection', K_CONNECTION],
      ['UPGRADE', K_UPGRADE], ['Expect', K_EXPECT], ['TE', K_HOP], ['Trailer', K_HOP], ['Keep-Alive', K_HOP],
      ['Proxy-Connection', K_HOP], ['Proxy-Authenticate', K_HOP], ['Proxy-Authorization', K_HOP], ['HTTP2-Settings', K_HOP],
      ['X-Forwarded-For', K_X_FORWARDED_FOR], ['x-forwarded-proto', K_X_FORWARDED_OTHER], ['X-Forwarded-Host', K_X_FORWARDED_OTHER],
      ['Date', K_DATE], ['Hosts', K_OTHER], ['Tee', K_OTHER], ['X-Host', K_OTHER], ['Content-Lengths', K_OTHER],
    ];
    const h = parse(`GET / HTTP/1.1\r\n${names.map(([n]) => `${n}: 1\r\n`).join('')}\r\n`)!;
    expect(h.kinds).toEqual(names.map(([, k]) => k));
    const te = parse(`POST / HTTP/1.1\r\n${H}transfer-ENCODING: chunked\r\n\r\n`)!;
    expect(te.kinds).toEqual([K_HOST, K_TRANSFER_ENCODING]);
  });

  it('Content-Length: digits, leading zeros, up to 15 digits', () => {
    expect(parse(`POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`)!.contentLength).toBe(0);
    expect(parse(`POST / HTTP/1.1\r\n${H}Content-Length: 42\r\n\r\n`)!.contentLength).toBe(42);
    expect(parse(`POST / HTTP/1.1\r\n${H}content-length:\t007 \r\n\r\n`)!.contentLength).toBe(7);
    expect(parse(`POST / HTTP/1.1\r\n${H}Content-Length: 999999999999999\r\n\r\n`)!.contentLength).toBe(999999999999999);
  });

  it('Transfer-Encoding: chunked (any case) sets chunked', () => {
    const h = parse(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ChUnKeD\r\n\r\n`)!;
    expect(h.chunked).toBe(true);
    expect(h.hasTransferEncoding).toBe(true);
    expect(h.contentLength).toBe(-1);
  });

  it('HTTP/1.0 closes by default; keep-alive keeps it open; HTTP/1.1 stays open unless close', () => {
    expect(parse('GET / HTTP/1.0\r\n\r\n')!.close).toBe(true);
    expect(parse('GET / HTTP/1.0\r\n\r\n')!.minor).toBe(0);
    expect(parse('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')!.close).toBe(false);
    expect(parse(`GET / HTTP/1.1\r\n${H}\r\n`)!.close).toBe(false);
    expect(parse(`GET / HTTP/1.1\r\n${H}Connection: CLOSE\r\n\r\n`)!.close).toBe(true);
    expect(parse(`GET / HTTP/1.1\r\n${H}Connection: keep-alive, close\r\n\r\n`)!.close).toBe(true);
    // keep-alive on HTTP/1.1 changes nothing
    expect(parse(`GET / HTTP/1.1\r\n${H}Connection: close\r\nConnection: keep-alive\r\n\r\n`)!.close).toBe(true);
  });

  it('HTTP/1.0: close wins over keep-alive whatever their order', () => {
    // RFC 9112 9.3/9.6: "close" means the connection will close after this response
    expect(parse('GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n')!.close).toBe(true);
    expect(parse('GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n')!.close).toBe(true);
    expect(parse('GET / HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n')!.close).toBe(true);
  });

  it('Connection: upgrade, listed names (lower-cased, without close/keep-alive/upgrade/host), values joined', () => {
    const h = parse(`GET /ws HTTP/1.1\r\n${H}Connection: X-Foo, Upgrade\r\nUpgrade: websocket\r\nconnection: ,keep-alive, HOST,  TE ,,\r\n\r\n`)!;
    expect(h.connectionUpgrade).toBe(true);
    expect(h.upgrade).toBe('websocket');
    expect(h.listed).toEqual(['x-foo', 'te']);
    expect(h.connection).toBe('X-Foo, Upgrade, ,keep-alive, HOST,  TE ,,');
    expect(h.close).toBe(false);
    const two = parse(`GET / HTTP/1.1\r\n${H}Upgrade: a\r\nUpgrade: b\r\n\r\n`)!;
    expect(two.upgrade).toBe('a, b');
    expect(two.connectionUpgrade).toBe(false);
  });

  it('Expect and Host are read', () => {
    const h = parse(`PUT /x HTTP/1.1\r\nHost:  b.example:8080 \r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n`)!;
    expect(h.expect).toBe('100-continue');
    expect(h.host).toBe('b.example:8080');
    expect(parse('GET / HTTP/1.0\r\n\r\n')!.host).toBeUndefined();
  });

  it('request-target forms: origin, absolute, authority, asterisk; any token method', () => {
    expect(parse(`GET http://b.example/x?y HTTP/1.1\r\n${H}\r\n`)!.target).toBe('http://b.example/x?y');
    expect(parse(`CONNECT b.example:443 HTTP/1.1\r\n${H}\r\n`)!.target).toBe('b.example:443');
    expect(parse(`OPTIONS * HTTP/1.1\r\n${H}\r\n`)!.target).toBe('*');
    const m = parse(`M-SEARCH!#$%&'*+.^_\`|~ / HTTP/1.1\r\n${H}\r\n`)!;
    expect(m.method).toBe("M-SEARCH!#$%&'*+.^_`|~");
  });

  it('leading empty lines (RFC 9112 2.2) are skipped, and counted only in whole CRLFs', () => {
    const b = Buffer.from(`\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`, 'latin1');
    expect(leadingEmptyLines(b, 0)).toBe(4);
    expect(leadingEmptyLines(b, 2)).toBe(2);
    expect(leadingEmptyLines(Buffer.from('\r\n\r'), 0)).toBe(2);
    expect(leadingEmptyLines(Buffer.from('\r\n\nGET'), 0)).toBe(2);
    expect(leadingEmptyLines(Buffer.from('GET'), 0)).toBe(0);
    expect(parse(b)!.target).toBe('/');
    // an LF alone among the empty lines leaves an LF where the request line starts
    refused(`\r\n\nGET / HTTP/1.1\r\n${H}\r\n`, 400);
    refused(`\nGET / HTTP/1.1\r\n${H}\r\n`, 400);
  });
});

describe('request heads: refusals', () => {
  it('LF alone: in the request line, after a header, as the final empty line, anywhere', () => {
    refused(`GET / HTTP/1.1\n${H}\r\n`, 400);
    refused(`GET / HTTP/1.1\r\nHost: a\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}X: a\nb\r\n\r\n`, 400);
    refused('GET / HTTP/1.1\n\n', 400);
    refused(`GET /a\nb HTTP/1.1\r\n${H}\r\n`, 400);
    // refused as soon as it is seen, before the head is complete
    refused(`GET / HTTP/1.1\r\nX: a\n`, 400);
  });

  it('CR alone: in the request line, in a value, before a colon, at the start of a line', () => {
    refused(`GET /\r HTTP/1.1\r\n${H}\r\n`, 400);
    refused(`GET / HTTP/1.1\r\r\n${H}\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}X: a\r\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}X\r: a\r\n\r\n`, 400);
  });

  it('CR alone at the start of a header line does not end the head early (fields after it must not vanish)', () => {
    // these heads contain CRLF CRLF only at their end; a parser that stops at the lone CR
    // drops Content-Length and takes "hello" for the next request
    refused(`POST / HTTP/1.1\r\n${H}\rContent-Length: 5\r\n\r\nhello`, 400);
    refused(`GET / HTTP/1.0\r\n\rHost: a\r\n\r\n`, 400);
    refused(`GET / HTTP/1.0\r\n\r\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}\r\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}\rX\r\n\r\n`, 400);
  });

  it('obsolete line folding is refused (also before the first header)', () => {
    refused(`GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}X: a\r\n\tb\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n ${H}\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n\t${H}\r\n`, 400);
  });

  it('whitespace between name and colon, an empty name, a line without a colon', () => {
    refused(`GET / HTTP/1.1\r\nHost : a\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\nHost\t: a\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}: a\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\n${H}A B: c\r\n\r\n`, 400);
  });

  it('NUL, control bytes and DEL in a name, a value or the target; non-tchar in a name', () => {
    for (const c of ['\x00', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f']) {
      refused(`GET / HTTP/1.1\r\n${H}X${c}Y: a\r\n\r\n`, 400);
      refused(`GET / HTTP/1.1\r\n${H}X: a${c}b\r\n\r\n`, 400);
      refused(`GET / HTTP/1.1\r\n${H}X: ${c}\r\n\r\n`, 400);
      refused(`GET /a${c}b HTTP/1.1\r\n${H}\r\n`, 400);
      refused(`G${c}T / HTTP/1.1\r\n${H}\r\n`, 400);
    }
    for (const c of ['(', ')', ',', '/', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}', '"', '\x80', '\xff']) {
      refused(`GET / HTTP/1.1\r\n${H}X${c}Y: a\r\n\r\n`, 400);
    }
    refused(`GET /a\tb HTTP/1.1\r\n${H}\r\n`, 400);
  });

  it('two Content-Lengths, even equal ones; a list in one header', () => {
    refused(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`, 400);
    refused(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\ncontent-length: 6\r\n\r\n`, 400);
    refused(`POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\n`, 400);
    refused(`POST / HTTP/1.1\r\n${H}Content-Length: 5,5\r\n\r\n`, 400);
  });

  it('Content-Length that is not 1*DIGIT of at most 15 digits', () => {
    for (const v of ['+5', '-5', '-0', '0x5', '5a', 'a', '5 5', '5\t5', '1e3', '5.0', '', '9999999999999999', '0000000000000000', '\xb5']) {
      refused(`POST / HTTP/1.1\r\n${H}Content-Length: ${v}\r\n\r\n`, 400);
    }
  });

  it('Transfer-Encoding with Content-Length, in either order', () => {
    refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n`, 400);
    refused(`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`, 400);
    refused(`POST / HTTP/1.1\r\n${H}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n`, 400);
  });

  it('a transfer coding other than exactly "chunked" is 501', () => {
    for (const v of ['gzip', 'identity', 'gzip, chunked', 'chunked, gzip', 'chunked, chunked', 'chunked;q=1', 'xchunked', 'chunke', '"chunked"']) {
      refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n`, 501);
    }
    // an empty coding is refused too (400 or 501 are both right)
    expect([400, 501]).toContain(refusal(`POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`).status);
  });

  it('two Transfer-Encoding headers, and Transfer-Encoding in HTTP/1.0', () => {
    refused(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 400);
    refused(`POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n`, 400);
  });

  it('two Host headers, whatever their case and values', () => {
    refused(`GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n`, 400);
    refused(`GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nHost:\r\n\r\n`, 400);
  });

  it('an HTTP/1.1 request without Host is 400 (RFC 9112 3.2); HTTP/1.0 may omit it', () => {
    refused('GET / HTTP/1.1\r\n\r\n', 400);
    refused('GET / HTTP/1.1\r\nHosts: a\r\nX-Host: a\r\n\r\n', 400);
    expect(parse('GET / HTTP/1.1\r\nHost:\r\n\r\n')!.host).toBe('');
    expect(parse('GET / HTTP/1.0\r\n\r\n')!.host).toBeUndefined();
  });

  it('versions: other HTTP/d.d is 505; anything else in the version slot is 400', () => {
    // RFC 9110 2.5 says a 1.x minor above 1 SHOULD be served as 1.1; refusing it is the
    // strict choice the parser makes, and it must at least never pass as another version
    for (const v of ['HTTP/1.2', 'HTTP/1.9', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/9.9']) refused(`GET / ${v}\r\n${H}\r\n`, 505);
    for (const v of ['HTTP/1.1 ', 'HTTP/1.1\t', 'http/1.1', 'Http/1.1', 'HTTP/1.10', 'HTTP/11', 'HTTP/1', 'HTTP/1.', 'HTTP/1.1x', 'HTTP /1.1', 'HTTP/ 1.1', 'HTTP/+.1', 'HTTP/1.1 extra', 'ICE/1.1', '']) {
      refused(`GET / ${v}\r\n${H}\r\n`, 400);
    }
  });

  it('malformed request lines', () => {
    for (const line of ['GET  / HTTP/1.1', ' GET / HTTP/1.1', 'GET / HTTP/1.1 ', 'GET\t/ HTTP/1.1', 'GET /\tHTTP/1.1', 'GET /a b HTTP/1.1', 'GET HTTP/1.1', 'GET /', '/ HTTP/1.1', 'G(T / HTTP/1.1', 'GET / ']) {
      const e = refusal(`${line}\r\n${H}\r\n`);
      expect(e.status, line).toBe(400);
    }
    // an empty request line after the skipped empty lines cannot happen: it would be an empty line
    refused(`\x00GET / HTTP/1.1\r\n${H}\r\n`, 400);
  });

  it('size limit: a head of exactly the limit is accepted, one byte more is 431', () => {
    const base = `GET / HTTP/1.1\r\n${H}X: \r\n\r\n`;
    const pad = (n: number): string => `GET / HTTP/1.1\r\n${H}X: ${'v'.repeat(n - base.length)}\r\n\r\n`;
    const atLimit = pad(MAX);
    expect(atLimit.length).toBe(MAX);
    expect(parse(atLimit)!.size).toBe(MAX);
    const over = pad(MAX + 1);
    expect(over.length).toBe(MAX + 1);
    refused(over, 431);
    // incomplete heads too: 431 once the bytes without an end pass the limit
    const partial = Buffer.from(`GET / HTTP/1.1\r\nX: ${'v'.repeat(MAX)}`, 'latin1');
    expect(headEnd(partial.subarray(0, MAX), 0, 0, MAX)).toBe(-1);
    expect(statusOf(() => headEnd(partial.subarray(0, MAX + 1), 0, 0, MAX))).toBe(431);
    expect(statusOf(() => headEnd(partial.subarray(0, MAX + 1), 0, MAX, MAX))).toBe(431);
    // the limit counts from `from`, not from the start of the buffer
    const pre = Buffer.concat([Buffer.alloc(100, 0x41), Buffer.from(atLimit, 'latin1')]);
    expect(headEnd(pre, 100, 0, MAX)).toBe(100 + MAX);
    // fed in pieces, the same limit holds
    expect(parseIncremental(splitEvery(atLimit, 1000))!.head.size).toBe(MAX);
    expect(statusOf(() => parseIncremental(splitEvery(over, 1000)))).toBe(431);
    expect(parseIncremental(splitEvery(atLimit + 'GET', 1000))!.rest.toString()).toBe('GET');
  });
});

/** the status of the HttpParseError `f` throws; fails when it throws nothing */
function statusOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof HttpParseError) return e.status;
    throw e;
  }
  throw new Error('no HttpParseError thrown');
}

function splitEvery(s: string, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < s.length; i += n) out.push(Buffer.from(s.slice(i, i + n), 'latin1'));
  return out;
}

describe('request heads split at every byte boundary', () => {
  const GOOD = [
    `GET /p HTTP/1.1\r\n${H}Accept: */*\r\n\r\n`,
    `\r\n\r\nPOST /u HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nConnection: keep-alive, X-A\r\n\r\nabcGET / HTTP/1.1\r\n`,
    `PUT / HTTP/1.0\r\nConnection: keep-alive\r\nX: \t a \t\r\nTransfer-Encod: x\r\n\r\n`,
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
  ];
  for (const s of GOOD) {
    it(`yields the one-shot result: ${JSON.stringify(s.slice(0, 30))}`, () => {
      const whole = parseIncremental([Buffer.from(s, 'latin1')])!;
      expect(whole).not.toBeNull();
      const one = parse(s)!;
      expect(whole.head).toEqual(one);
      const tail = whole.rest.toString('latin1');
      for (const pieces of splits(s)) {
        const got = parseIncremental(pieces);
        expect(got, `cut ${pieces.map((p) => p.length).join('+')}`).not.toBeNull();
        expect(got!.head).toEqual(one);
        // the bytes after the head are left as they came: the start of what follows it
        expect(tail.startsWith(got!.rest.toString('latin1'))).toBe(true);
      }
    });
  }

  const BAD: Array<[string, number]> = [
    [`GET / HTTP/1.1\n${H}\r\n`, 400],
    [`GET / HTTP/1.1\r\nHost: a\n\r\n`, 400],
    [`GET / HTTP/1.1\r\n${H}\n`, 400],
    [`GET / HTTP/1.1\r\n${H}X: a\nb\r\n\r\n`, 400],
    [`\r\n\nGET / HTTP/1.1\r\n${H}\r\n`, 400],
    [`\nGET / HTTP/1.1\r\n${H}\r\n`, 400],
    [`GET / HTTP/1.1\r\n${H}\n\r\n\r\n`, 400],
    [`GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 400],
    [`POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`, 400],
    [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, 501],
  ];
  for (const [s, status] of BAD) {
    it(`refuses with ${status} whichever piece the defect arrives in: ${JSON.stringify(s.slice(0, 40))}`, () => {
      for (const pieces of [[Buffer.from(s, 'latin1')], ...splits(s)]) {
        let err: unknown = null;
        try { parseIncremental(pieces); } catch (e) { err = e; }
        expect(err, `cut ${pieces.map((p) => p.length).join('+')}`).toBeInstanceOf(HttpParseError);
        expect((err as HttpParseError).status).toBe(status);
      }
    });
  }

  it('a bare LF is refused as soon as its piece arrives, before the head is complete', () => {
    const s = `GET / HTTP/1.1\r\nX: a\nY: b\r\n`;
    for (const pieces of splits(s)) {
      expect(() => parseIncremental(pieces)).toThrow(HttpParseError);
    }
  });

  it('headEnd with `scanned`: each call looks only at new bytes, yet finds a CRLF CRLF that straddles pieces', () => {
    const s = Buffer.from(`GET / HTTP/1.1\r\n${H}\r\n`, 'latin1');
    for (let k = 0; k < s.length; k++) {
      expect(headEnd(s.subarray(0, k), 0, 0, MAX)).toBe(-1);
      expect(headEnd(s, 0, k, MAX)).toBe(s.length);
    }
  });
});
