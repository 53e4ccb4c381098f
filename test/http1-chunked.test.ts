/**
 * The chunked decoder (src/http1/chunked.ts) tested directly: bodies fed in every split,
 * the data it hands out, the index where the message ends (and that bytes after it are
 * never taken), extensions and trailers (checked and dropped), chunk-size syntax (any
 * number of leading zeros, a value bounded at 2^53 - 1), and the per-message limit on
 * extension, trailer and leading-zero bytes.
 */
import { describe, it, expect } from 'vitest';
import { ChunkedDecoder, chunkHeader, CHUNK_END, LAST_CHUNK } from '../src/http1/chunked.js';
import { HttpParseError } from '../src/http1/parse.js';
import { seededRandom } from '../src/balancer/balancer.js';

interface Decoded { data: string; end: number; total: number }

/**
 * Decode `s` fed as the ranges [cuts[i], cuts[i+1]) of one buffer. Returns the data, the
 * absolute end index (or -1) and checks that no piece handed out lies outside its range.
 */
function decodeRanges(s: string | Buffer, cuts: number[], status?: number): Decoded {
  const buf = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  const d = new ChunkedDecoder(status);
  let data = '';
  let end = -1;
  const bounds = [0, ...cuts, buf.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i];
    const to = bounds[i + 1];
    const r = d.feed(buf, from, to, (b, a, z) => {
      expect(b).toBe(buf);
      expect(a).toBeGreaterThanOrEqual(from);
      expect(z).toBeLessThanOrEqual(to);
      expect(z).toBeGreaterThan(a);
      data += b.toString('latin1', a, z);
    });
    if (r >= 0) {
      expect(r).toBeGreaterThanOrEqual(from);
      expect(r).toBeLessThanOrEqual(to);
      expect(d.done).toBe(true);
      end = r;
      break;
    }
    expect(d.done).toBe(false);
  }
  return { data, end, total: d.total };
}

/** the same, but each piece is its own Buffer (as socket reads are) */
function decodePieces(pieces: Buffer[]): Decoded {
  const d = new ChunkedDecoder();
  let data = '';
  let offset = 0;
  for (const p of pieces) {
    const r = d.feed(p, 0, p.length, (b, a, z) => { data += b.toString('latin1', a, z); });
    if (r >= 0) return { data, end: offset + r, total: d.total };
    offset += p.length;
  }
  return { data, end: -1, total: d.total };
}

function decode(s: string, status?: number): Decoded {
  return decodeRanges(s, [], status);
}

function refusal(s: string, cuts: number[] = [], status?: number): HttpParseError {
  let got: Decoded;
  try {
    got = decodeRanges(s, cuts, status);
  } catch (e) {
    if (!(e instanceof HttpParseError)) throw e;
    return e;
  }
  throw new Error(`accepted ${JSON.stringify(s)} as ${JSON.stringify(got)}`);
}

function refused(s: string): void {
  expect(refusal(s).status, JSON.stringify(s)).toBe(400);
}

/** the seeded PRNG the balancer tests use */
const prng = seededRandom;

const AFTER = 'GET /next HTTP/1.1\r\n\r\n';

describe('chunked bodies split at every byte boundary', () => {
  const BODIES: Array<[string, string]> = [
    ['5\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['1\r\na\r\nA\r\n0123456789\r\n10\r\nabcdefghijklmnop\r\n0\r\n\r\n', 'a0123456789abcdefghijklmnop'],
    ['3;name=val;x\r\nabc\r\n2 ; q="a b"\r\nde\r\n0;end\r\nX-Trailer: 1\r\nY:\t2\r\n\r\n', 'abcde'],
    ['00a\r\n\r\n\r\n\r\n\r\n\r\n\r\n0000\r\n\r\n', '\r\n\r\n\r\n\r\n\r\n'],
  ];
  for (const [body, want] of BODIES) {
    it(`hands out exactly the data and ends at the right index: ${JSON.stringify(body.slice(0, 24))}`, () => {
      const s = body + AFTER;
      const buf = Buffer.from(s, 'latin1');
      const whole = decode(s);
      expect(whole).toEqual({ data: want, end: body.length, total: want.length });
      for (let k = 0; k <= s.length; k++) {
        expect(decodeRanges(buf, [k]), `cut at ${k}`).toEqual(whole);
        expect(decodePieces([Buffer.from(buf.subarray(0, k)), Buffer.from(buf.subarray(k))]), `pieces cut at ${k}`).toEqual(whole);
      }
      expect(decodeRanges(buf, Array.from({ length: s.length }, (_, i) => i))).toEqual(whole);
      expect(decodePieces([...buf].map((c) => Buffer.from([c])))).toEqual(whole);
      // three pieces, at seeded random cuts
      const rnd = prng(body.length);
      for (let n = 0; n < 200; n++) {
        const a = Math.floor(rnd() * s.length);
        const b = a + Math.floor(rnd() * (s.length - a));
        expect(decodeRanges(buf, [a, b]), `cuts ${a},${b}`).toEqual(whole);
      }
    });
  }

  it('a finished decoder takes nothing more', () => {
    const buf = Buffer.from(`5\r\nhello\r\n0\r\n\r\n${AFTER}`, 'latin1');
    const d = new ChunkedDecoder();
    const end = d.feed(buf, 0, buf.length, () => {});
    expect(end).toBe(15);
    let more = false;
    expect(d.feed(buf, end, buf.length, () => { more = true; })).toBe(end);
    expect(more).toBe(false);
    expect(d.done).toBe(true);
  });

  it('an incomplete body returns -1 and is not done', () => {
    for (const s of ['5', '5\r', '5\r\nhel', '5\r\nhello', '5\r\nhello\r', '5\r\nhello\r\n', '5\r\nhello\r\n0', '5\r\nhello\r\n0\r\n', '5\r\nhello\r\n0\r\n\r', '0\r\nX: 1\r\n', '1;a']) {
      const d = new ChunkedDecoder();
      expect(d.feed(Buffer.from(s), 0, s.length, () => {}), JSON.stringify(s)).toBe(-1);
      expect(d.done).toBe(false);
    }
  });

  it('a large body split in seeded random pieces round-trips', () => {
    const rnd = prng(7);
    const parts: string[] = [];
    let want = '';
    for (let i = 0; i < 50; i++) {
      const n = 1 + Math.floor(rnd() * 3000);
      const data = Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256))).toString('latin1');
      want += data;
      parts.push(chunkHeader(n), data, CHUNK_END);
    }
    const s = parts.join('') + LAST_CHUNK;
    const buf = Buffer.from(s + AFTER, 'latin1');
    for (let round = 0; round < 20; round++) {
      const cuts: number[] = [];
      for (let at = 0; at < buf.length; at += 1 + Math.floor(rnd() * 4000)) cuts.push(at);
      const got = decodeRanges(buf, cuts);
      expect(got.end).toBe(s.length);
      expect(got.total).toBe(want.length);
      expect(got.data === want).toBe(true);
    }
  });
});

describe('chunk sizes', () => {
  it('hex in upper and lower case, with leading zeros', () => {
    expect(decode(`a\r\n${'x'.repeat(10)}\r\n0\r\n\r\n`).total).toBe(10);
    expect(decode(`A\r\n${'x'.repeat(10)}\r\n0\r\n\r\n`).total).toBe(10);
    expect(decode(`fF\r\n${'x'.repeat(255)}\r\n0\r\n\r\n`).total).toBe(255);
    expect(decode(`0001\r\nx\r\n000\r\n\r\n`).total).toBe(1);
    expect(decode(`000000000001\r\nx\r\n0\r\n\r\n`).total).toBe(1);
    // 13 digits and more are fine: the value is bounded, not the digits; the data is simply still to come
    const d = new ChunkedDecoder();
    expect(d.feed(Buffer.from('1000000000000\r\nabc'), 0, 18, () => {})).toBe(-1);
    expect(d.total).toBe(3);
  });

  it('any number of leading zeros is valid (RFC 9112 7.1: 1*HEXDIG): 33 zeros then 4e is 0x4e', () => {
    const data = 'y'.repeat(0x4e);
    const body = `${'0'.repeat(33)}4e\r\n${data}\r\n${'0'.repeat(40)}\r\n\r\n`;
    const buf = Buffer.from(body + AFTER, 'latin1');
    const whole = decode(body + AFTER);
    expect(whole).toEqual({ data, end: body.length, total: 0x4e });
    for (let k = 0; k <= buf.length; k++) expect(decodeRanges(buf, [k]), `cut at ${k}`).toEqual(whole);
    expect(decodePieces([...buf].map((c) => Buffer.from([c])))).toEqual(whole);
    // and in a backend's response: the same decoder, status 502, accepts it too
    expect(decode(body, 502).total).toBe(0x4e);
    expect(decode(`${'0'.repeat(1000)}1\r\nx\r\n0\r\n\r\n`).total).toBe(1);
  });

  it('the value is bounded at 2^53 - 1, whatever the number of digits', () => {
    // 2^53 - 1 is accepted as a size (its data is still to come)
    for (const size of ['1fffffffffffff', '1FFFFFFFFFFFFF', `${'0'.repeat(50)}1fffffffffffff`]) {
      const d = new ChunkedDecoder();
      expect(d.feed(Buffer.from(`${size}\r\nab`), 0, size.length + 4, () => {}), size).toBe(-1);
      expect(d.total).toBe(2);
    }
    // 2^53, and anything past it, is refused (400 for a client, 502 for a backend)
    for (const size of ['20000000000000', '1fffffffffffff0', `${'0'.repeat(50)}20000000000000`, 'ffffffffffffffff', 'ffffffffffffffffffffffffffffffff', '1'.repeat(400)]) {
      expect(refusal(`${size}\r\n`).status, size).toBe(400);
      expect(refusal(`${size}\r\n`, [], 502).status, size).toBe(502);
      // refused at the digit that passes the bound, not at the end of the line
      expect(refusal(`${size}`).message).toMatch(/too large/);
    }
  });

  it('a run of leading zeros costs linear time and counts against the 16 KiB per-message allowance', () => {
    // each zero after the first counts as one byte of extension (and the final CR as one, as before)
    expect(decode(`${'0'.repeat(16_384)}1\r\nx\r\n0\r\n\r\n`).total).toBe(1);
    expect(refusal(`${'0'.repeat(16_385)}1\r\nx\r\n0\r\n\r\n`).status).toBe(400);
    expect(refusal(`${'0'.repeat(16_386)}1\r\nx\r\n0\r\n\r\n`).message).toMatch(/leading zeros/);
    // shared with extensions and trailers, over the whole message
    expect(refusal(`${'0'.repeat(9_000)}1;${'e'.repeat(9_000)}\r\nx\r\n0\r\n\r\n`).status).toBe(400);
    expect(refusal(`${'0'.repeat(9_000)}1\r\nx\r\n${'0'.repeat(9_000)}\r\n\r\n`).status).toBe(400);
    // an endless run is refused at the allowance, in one pass, holding nothing
    const zeros = Buffer.alloc(8 * 1024 * 1024, 0x30);
    const d = new ChunkedDecoder();
    const t = performance.now();
    expect(() => d.feed(zeros, 0, zeros.length, () => {})).toThrow(/leading zeros/);
    expect(performance.now() - t).toBeLessThan(1000);
    // fed a byte at a time, it is refused at the same point
    const e = new ChunkedDecoder();
    let fed = 0;
    try {
      for (; fed < 100_000; fed++) e.feed(zeros, fed, fed + 1, () => {});
    } catch (err) {
      expect(err).toBeInstanceOf(HttpParseError);
    }
    expect(fed).toBe(16_385);
  });

  it('sizeLine() checks and consumes only the first size line; feed() goes on from there', () => {
    const s = Buffer.from('0004e;a=b\r\n' + 'z'.repeat(0x4e) + '\r\n0\r\n\r\n' + AFTER, 'latin1');
    const d = new ChunkedDecoder();
    const at = d.sizeLine(s, 0, s.length);
    expect(at).toBe(11);
    let data = '';
    const end = d.feed(s, at, s.length, (b, a, z) => { data += b.toString('latin1', a, z); });
    expect(data).toBe('z'.repeat(0x4e));
    expect(end).toBe(s.length - AFTER.length);
    // a line cut short: all consumed, -1, and the rest goes to feed()
    const p = new ChunkedDecoder();
    expect(p.sizeLine(s, 0, 3)).toBe(-1);
    expect(p.feed(s, 3, s.length, () => {})).toBe(s.length - AFTER.length);
    // the last chunk first
    expect(new ChunkedDecoder().sizeLine(Buffer.from('0\r\n\r\n'), 0, 5)).toBe(3);
    // invalid lines throw, as feed() would
    for (const bad of ['x\r\n', '5 6\r\n', '5\n', '-1\r\n', ';a\r\n', '20000000000000\r\n']) {
      expect(() => new ChunkedDecoder().sizeLine(Buffer.from(bad), 0, bad.length), JSON.stringify(bad)).toThrow(HttpParseError);
    }
  });

  it('negative, empty, prefixed or non-hex sizes are refused', () => {
    for (const size of ['-5', '', ' 5', '\t5', '+5', '0x5', 'g', '5g', ';a', '\xb5', '５']) refused(`${size}\r\nhello\r\n0\r\n\r\n`);
  });

  it('the size line must end with CRLF', () => {
    refused('5\nhello\r\n0\r\n\r\n');
    refused('5\rhello\r\n0\r\n\r\n');
    refused('5\r\rhello\r\n0\r\n\r\n');
    refused('0\n\r\n');
    refused('5;a\nhello\r\n0\r\n\r\n');
  });

  it('a size followed by whitespace and something other than an extension is refused', () => {
    // RFC 9112 7.1.1: chunk-size [ BWS ";" ext ] CRLF. "5 6" is not size 5: other parsers
    // read it as 0x56 or refuse it, so accepting it as 5 is a framing disagreement
    refused('5 6\r\nhello\r\n0\r\n\r\n');
    refused('5 x\r\nhello\r\n0\r\n\r\n');
    refused('5\t6\r\nhello\r\n0\r\n\r\n');
  });
});

describe('chunk data', () => {
  it('data longer than its size, or not followed by CRLF, is refused', () => {
    refused('3\r\nhello\r\n0\r\n\r\n');
    refused('5\r\nhelloX\r\n0\r\n\r\n');
    refused('5\r\nhello\n0\r\n\r\n');
    refused('5\r\nhello\r0\r\n\r\n');
    refused('5\r\nhello0\r\n\r\n');
    refused('5\r\nhello\r\r\n0\r\n\r\n');
  });

  it('data shorter than its size swallows what follows as data (there is no way to tell), then fails on the CRLF', () => {
    // "hel" + CRLF + "0" are 6 bytes of data... the 7th byte must be CR
    expect(refusal('7\r\nhel\r\n0\r\n\r\n').status).toBe(400);
  });

  it('the status of the errors is the one given to the decoder (502 for a backend)', () => {
    expect(refusal('5\r\nhelloX', [], 502).status).toBe(502);
    expect(refusal('x', [], 502).status).toBe(502);
  });
});

describe('chunk extensions', () => {
  it('are accepted and dropped', () => {
    for (const ext of [';a', ';a=b', ';a=b;c=d', ';a="q s;\\"x"', ' ;a', '\t;a', ' ; a = b ', ';\x80\xff', ';a=b\tc']) {
      const got = decode(`5${ext}\r\nhello\r\n0${ext}\r\n\r\n`);
      expect(got, JSON.stringify(ext)).toEqual({ data: 'hello', end: 15 + 2 * ext.length, total: 5 });
    }
  });

  it('control bytes in an extension are refused', () => {
    for (const c of ['\x00', '\x01', '\n', '\x0b', '\x1f', '\x7f']) {
      refused(`5;a${c}b\r\nhello\r\n0\r\n\r\n`);
      refused(`0;${c}\r\n\r\n`);
    }
  });

  it('CR alone in an extension is refused', () => {
    refused('5;a\rb\r\nhello\r\n0\r\n\r\n');
  });
});

describe('trailers', () => {
  it('are accepted and dropped; the message ends after the empty line', () => {
    const body = '5\r\nhello\r\n0\r\nX-Sum: abc\r\nServer-Timing: a;dur=1\r\n\r\n';
    expect(decode(body + AFTER)).toEqual({ data: 'hello', end: body.length, total: 5 });
  });

  it('control bytes, LF alone, CR alone in a trailer are refused', () => {
    for (const c of ['\x00', '\x01', '\n', '\x7f']) refused(`0\r\nX: a${c}b\r\n\r\n`);
    refused('0\r\nX: a\rb\r\n\r\n');
    refused('0\r\nX: a\n\r\n');
    refused('0\r\n\n');
    refused('0\r\n\r\r\n');
  });
});

describe('the per-message limit on extension and trailer bytes', () => {
  /** a message whose extension and trailer bytes total `n` (counted as the decoder counts: after ";", up to and including CR) */
  function withExtBytes(n: number): string {
    // ext "1;" + k bytes + CR -> k+1; last chunk "0\r\n" then the final CR -> 1
    const k = n - 2;
    return `1;${'e'.repeat(k)}\r\nx\r\n0\r\n\r\n`;
  }

  it('is about 16 KiB: 16 000 bytes pass, 16 400 do not', () => {
    expect(decode(withExtBytes(16_000)).data).toBe('x');
    expect(refusal(withExtBytes(16_400)).status).toBe(400);
  });

  it('is exact: 16 384 bytes pass, 16 385 do not, and it is monotone around there', () => {
    const ok = (n: number): boolean => {
      try { decode(withExtBytes(n)); return true; } catch (e) { expect(e).toBeInstanceOf(HttpParseError); return false; }
    };
    for (let n = 16_370; n <= 16_384; n++) expect(ok(n), `${n} bytes`).toBe(true);
    for (let n = 16_385; n <= 16_400; n++) expect(ok(n), `${n} bytes`).toBe(false);
  });

  it('counts trailers and extensions together, over the whole message, not per chunk', () => {
    // 20 chunks with 1 000-byte extensions: each is small, together they pass the limit
    const chunks = Array.from({ length: 20 }, () => `1;${'e'.repeat(1000)}\r\nx\r\n`).join('');
    expect(refusal(`${chunks}0\r\n\r\n`).status).toBe(400);
    expect(decode(`${Array.from({ length: 10 }, () => `1;${'e'.repeat(1000)}\r\nx\r\n`).join('')}0\r\n\r\n`).total).toBe(10);
    // 10 000 bytes of extensions plus 10 000 bytes of trailers
    const trailers = Array.from({ length: 10 }, (_, i) => `T${i}: ${'t'.repeat(995)}\r\n`).join('');
    expect(refusal(`1;${'e'.repeat(10_000)}\r\nx\r\n0\r\n${trailers}\r\n`).status).toBe(400);
    expect(decode(`1;${'e'.repeat(5_000)}\r\nx\r\n0\r\n${trailers.slice(0, 5_000)}\r\n\r\n`).total).toBe(1);
    // trailers alone
    expect(refusal(`0\r\n${'T: '.padEnd(17_000, 't')}\r\n\r\n`).status).toBe(400);
  });

  it('is per message: a new decoder starts from zero', () => {
    const s = withExtBytes(16_000);
    for (let i = 0; i < 5; i++) expect(decode(s).total).toBe(1);
  });
});
