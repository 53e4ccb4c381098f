/**
 * The strict response-head parser (src/http1/parse.ts, parseResponseHead) tested directly:
 * status-line forms, status codes, 1xx, HTTP/1.0 connection defaults, Content-Length and
 * Transfer-Encoding rules for responses, and refusals (502: the backend sent garbage).
 * Heads are also fed in pieces the way src/proxy/forward.ts does.
 */
import { describe, it, expect } from 'vitest';
import { headEnd, parseResponseHead, HttpParseError, type ResponseHead, K_DATE, K_CONTENT_LENGTH, K_OTHER } from '../src/http1/parse.js';

const MAX = 64 * 1024;

function parse(s: string): ResponseHead | null {
  const buf = Buffer.from(s, 'latin1');
  const end = headEnd(buf, 0, 0, MAX);
  if (end < 0) return null;
  return parseResponseHead(buf, 0, end);
}

function refusal(s: string): HttpParseError {
  let head: ResponseHead | null;
  try {
    head = parse(s);
  } catch (e) {
    if (!(e instanceof HttpParseError)) throw e;
    return e;
  }
  throw new Error(`accepted ${JSON.stringify(s)} as ${JSON.stringify(head)}`);
}

/** refused by parseResponseHead: always 502 */
function refused(s: string): void {
  expect(refusal(s).status, JSON.stringify(s)).toBe(502);
}

/** as forward.ts: concat, headEnd with `scanned`, parse when complete */
function parseIncremental(pieces: Buffer[]): ResponseHead | null {
  let buf: Buffer | null = null;
  let scanned = 0;
  for (const d of pieces) {
    buf = buf === null ? d : Buffer.concat([buf, d]);
    const end = headEnd(buf, 0, scanned, MAX);
    if (end < 0) { scanned = buf.length; continue; }
    return parseResponseHead(buf, 0, end);
  }
  return null;
}

describe('response heads: status line', () => {
  it('status, reason, version, headers, size', () => {
    const s = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nX-A: \t b \r\n\r\n';
    const h = parse(`${s}hello`)!;
    expect(h.status).toBe(200);
    expect(h.reason).toBe('OK');
    expect(h.minor).toBe(1);
    expect(h.headers).toEqual(['Content-Length', '5', 'Date', 'Mon, 01 Jan 2024 00:00:00 GMT', 'X-A', 'b']);
    expect(h.kinds).toEqual([K_CONTENT_LENGTH, K_DATE, K_OTHER]);
    expect(h.hasDate).toBe(true);
    expect(h.contentLength).toBe(5);
    expect(h.close).toBe(false);
    expect(h.size).toBe(s.length);
    expect(parse('HTTP/1.1 200 OK\r\n\r\n')!.hasDate).toBe(false);
  });

  it('without a reason, with an empty reason, with spaces, HTAB and obs-text in the reason', () => {
    const none = parse('HTTP/1.1 204\r\n\r\n')!;
    expect([none.status, none.reason]).toEqual([204, '']);
    const empty = parse('HTTP/1.1 200 \r\n\r\n')!;
    expect([empty.status, empty.reason]).toEqual([200, '']);
    expect(parse('HTTP/1.1 404 Not  Found \t\r\n\r\n')!.reason).toBe('Not  Found \t');
    expect(parse('HTTP/1.1 200 \xc9t\xe9 \xff\r\n\r\n')!.reason).toBe('\xc9t\xe9 \xff');
  });

  it('status codes 100 to 599 are accepted', () => {
    for (const code of [100, 101, 103, 199, 200, 299, 301, 404, 500, 599]) expect(parse(`HTTP/1.1 ${code} X\r\n\r\n`)!.status).toBe(code);
  });

  it('invalid status codes are 502', () => {
    for (const code of ['2000', '099', '000', '600', '999', '20', '2', '', '2x0', '+20', '-20', ' 200', '20 0', '0200', '２００']) {
      refused(`HTTP/1.1 ${code} X\r\n\r\n`);
      refused(`HTTP/1.1 ${code}\r\n\r\n`);
    }
  });

  it('invalid status lines are 502', () => {
    for (const line of ['HTTP/1.1  200 OK', 'HTTP/1.1\t200 OK', 'HTTP/1.1 200\tOK', 'http/1.1 200 OK', 'HTTP/1.2 200 OK', 'HTTP/2 200 OK', 'HTTP/2.0 200 OK', 'HTTP/1.1200 OK', ' HTTP/1.1 200 OK', 'HTTP/1.1 200 O\x00K', 'HTTP/1.1 200 O\x01K', 'HTTP/1.1 200 O\x7fK', 'HTTP/1.1 200 OK\r', 'ICY 200 OK', 'HTTP/1.1']) {
      refused(`${line}\r\n\r\n`);
    }
  });

  it('1xx heads parse like any other (100 Continue, 101 with Upgrade, 103 with Link)', () => {
    expect(parse('HTTP/1.1 100 Continue\r\n\r\n')!.status).toBe(100);
    const up = parse('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')!;
    expect(up.status).toBe(101);
    expect(up.connectionUpgrade).toBe(true);
    expect(up.upgrade).toBe('websocket');
    const hints = parse('HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n\r\n')!;
    expect(hints.status).toBe(103);
    expect(hints.headers).toEqual(['Link', '</s.css>; rel=preload']);
  });
});

describe('response heads: connection and framing', () => {
  it('HTTP/1.0 closes unless keep-alive; HTTP/1.1 stays open unless close', () => {
    const h10 = parse('HTTP/1.0 200 OK\r\n\r\n')!;
    expect([h10.minor, h10.close]).toEqual([0, true]);
    expect(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n')!.close).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\n\r\n')!.close).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n')!.close).toBe(true);
    expect(parse('HTTP/1.1 200 OK\r\nConnection: x-a, close\r\n\r\n')!.listed).toEqual(['x-a']);
  });

  it('equal duplicate Content-Lengths are accepted (both kept); different ones are 502', () => {
    const h = parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n')!;
    expect(h.contentLength).toBe(5);
    expect(h.headers).toEqual(['Content-Length', '5', 'content-length', '5']);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 005\r\n\r\n')!.contentLength).toBe(5);
    refused('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n');
    refused('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n');
    refused('HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n');
  });

  it('invalid Content-Length values are 502', () => {
    for (const v of ['-1', '+1', '0x10', '1 0', 'abc', '', '1.0', '9999999999999999']) refused(`HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\n`);
  });

  it('Transfer-Encoding with Content-Length is 502, in either order', () => {
    refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n');
    refused('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n');
    refused('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n');
  });

  it('chunked only when chunked is the final coding', () => {
    const gc = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n')!;
    expect([gc.chunked, gc.hasTransferEncoding, gc.contentLength]).toEqual([true, true, -1]);
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,CHUNKED \r\n\r\n')!.chunked).toBe(true);
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n')!.chunked).toBe(true);
    const g = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n')!;
    expect([g.chunked, g.hasTransferEncoding]).toEqual([false, true]);
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n')!.chunked).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n')!.chunked).toBe(false);
    refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n');
  });

  it('the codings other than a final chunked are kept, to pass on', () => {
    const codings = (v: string) => { const h = parse(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${v}\r\n\r\n`)!; return [h.chunked, h.codings, h.codingsChunked]; };
    expect(codings('chunked')).toEqual([true, null, false]);
    expect(codings('Chunked')).toEqual([true, null, false]);
    expect(codings('gzip, chunked')).toEqual([true, 'gzip', false]);
    expect(codings('gzip,,  deflate ,chunked')).toEqual([true, 'gzip, deflate', false]);
    expect(codings('gzip')).toEqual([false, 'gzip', false]);
    expect(codings('x-custom;a=1, gzip')).toEqual([false, 'x-custom;a=1, gzip', false]);
    // chunked not last: read until the close, and chunked may not be applied again
    expect(codings('chunked, gzip')).toEqual([false, 'chunked, gzip', true]);
  });

  it('a Transfer-Encoding that is empty, not a list of tokens, or applies chunked twice is 502', () => {
    for (const v of ['', ',', ' , ', 'gzip chunked', 'chunked, chunked', 'chunked, gzip, chunked', '"gzip"', 'gzip, @']) {
      refused(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${v}\r\n\r\n`);
    }
  });

  it('Transfer-Encoding in an HTTP/1.0 response is 502 (RFC 9112 6.1: the framing is faulty)', () => {
    refused('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    refused('HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n');
  });
});

describe('response heads: refusals', () => {
  it('NUL, control bytes and DEL in values and names are 502', () => {
    for (const c of ['\x00', '\x01', '\x0b', '\x1f', '\x7f']) {
      refused(`HTTP/1.1 200 OK\r\nX: a${c}b\r\n\r\n`);
      refused(`HTTP/1.1 200 OK\r\nX${c}: a\r\n\r\n`);
    }
  });

  it('obs-fold, whitespace before a colon, a line without a colon, CR alone are 502', () => {
    refused('HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n');
    refused('HTTP/1.1 200 OK\r\n X: a\r\n\r\n');
    refused('HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n');
    refused('HTTP/1.1 200 OK\r\nNoColon\r\n\r\n');
    refused('HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n');
    refused('HTTP/1.1 200\rOK\r\n\r\n');
  });

  it('CR alone at the start of a header line does not end the head early', () => {
    // otherwise Content-Length vanishes and the body is read until close
    refused('HTTP/1.1 200 OK\r\n\rContent-Length: 5\r\n\r\nhello');
    refused('HTTP/1.1 200 OK\r\nX: a\r\n\rTransfer-Encoding: chunked\r\n\r\n');
  });

  it('LF alone anywhere in the head is refused by headEnd (forward.ts answers 502 for any parse error)', () => {
    for (const s of ['HTTP/1.1 200 OK\nX: a\r\n\r\n', 'HTTP/1.1 200 OK\r\nX: a\n\r\n', 'HTTP/1.1 200 OK\r\nX: a\r\n\n', 'HTTP/1.1 200 OK\n\n']) {
      expect(() => parse(s), JSON.stringify(s)).toThrow(HttpParseError);
    }
  });

  it('headEnd refuses a head over its limit with 431 (the caller maps it to 502)', () => {
    const s = `HTTP/1.1 200 OK\r\nX: ${'v'.repeat(100)}\r\n\r\n`;
    const b = Buffer.from(s, 'latin1');
    expect(headEnd(b, 0, 0, s.length)).toBe(s.length);
    expect(() => headEnd(b, 0, 0, s.length - 1)).toThrow(HttpParseError);
  });
});

describe('response heads split at every byte boundary', () => {
  const heads = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello',
    'HTTP/1.1 404 \r\nTransfer-Encoding: gzip, chunked\r\nX: \t y\r\n\r\n',
  ];
  for (const s of heads) {
    it(`gives the one-shot result: ${JSON.stringify(s.slice(0, 20))}`, () => {
      const one = parse(s)!;
      const b = Buffer.from(s, 'latin1');
      for (let k = 1; k < b.length; k++) {
        expect(parseIncremental([Buffer.from(b.subarray(0, k)), Buffer.from(b.subarray(k))]), `cut at ${k}`).toEqual(one);
      }
      expect(parseIncremental([...b].map((c) => Buffer.from([c])))).toEqual(one);
    });
  }

  it('a bare LF is refused in whichever piece it arrives', () => {
    const b = Buffer.from('HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n', 'latin1');
    for (let k = 1; k < b.length; k++) {
      expect(() => parseIncremental([Buffer.from(b.subarray(0, k)), Buffer.from(b.subarray(k))]), `cut at ${k}`).toThrow(HttpParseError);
    }
  });
});
