/**
 * Strict checks of the framing a client receives, for tests that must see the exact bytes:
 * the proxy writes chunk sizes canonically (lower-case hex, no leading zeros, no
 * extensions, no trailers), so anything else in its output is a framing bug, not a style.
 */
import { expect } from 'vitest';
import type { WireMessage } from './wire.js';

/** the chunked body of `m`, as written after its head; throws unless each chunk is canonical and the body ends exactly at the message's end */
export function canonicalChunks(m: WireMessage): { sizes: number[]; body: Buffer } {
  const raw = m.raw;
  let i = raw.indexOf('\r\n\r\n') + 4;
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  for (;;) {
    const eol = raw.indexOf('\r\n', i);
    if (eol < 0) throw new Error(`no end of a chunk-size line at byte ${i}`);
    const line = raw.toString('latin1', i, eol);
    if (!/^(0|[1-9a-f][0-9a-f]*)$/.test(line)) throw new Error(`not a canonical chunk-size line: ${JSON.stringify(line)}`);
    const n = parseInt(line, 16);
    i = eol + 2;
    if (n === 0) {
      if (raw.toString('latin1', i, i + 2) !== '\r\n') throw new Error('trailer fields or junk after the last chunk');
      if (i + 2 !== raw.length) throw new Error(`${raw.length - i - 2} bytes after the last chunk`);
      return { sizes, body: Buffer.concat(parts) };
    }
    sizes.push(n);
    parts.push(raw.subarray(i, i + n));
    if (raw.toString('latin1', i + n, i + n + 2) !== '\r\n') throw new Error(`chunk data of ${n} bytes not followed by CRLF`);
    i += n + 2;
  }
}

/** every value of header `name` (case-insensitive) */
export function headerValues(m: WireMessage, name: string): string[] {
  return m.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
}

/** `m` is chunked with canonical framing and carries `body`; transfer-encoding is exactly `te` */
export function expectChunked(m: WireMessage, body: Buffer | string, te = 'chunked'): void {
  expect(headerValues(m, 'transfer-encoding')).toEqual([te]);
  expect(headerValues(m, 'content-length')).toEqual([]);
  const got = canonicalChunks(m);
  expect(got.body.equals(Buffer.from(body as string, 'latin1'))).toBe(true);
}
