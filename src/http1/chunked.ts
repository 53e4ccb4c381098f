/**
 * A strict decoder for the chunked transfer coding (RFC 9112 7.1), fed byte ranges as
 * they arrive. It hands out the data of each chunk as slices of the input (no copy) and
 * says where the message ends, so bytes after it (a pipelined request, or bytes a backend
 * should not have sent) are never taken for body. Chunk extensions are checked and
 * dropped; trailer fields are checked and dropped. Sizes need hex digits and CRLF exactly.
 *
 * A size may have any number of leading zeros (RFC 9112 7.1: 1*HEXDIG); its value is
 * bounded instead (2^53 - 1). Leading zeros are counted, never stored, against the same
 * per-message allowance as extensions and trailers, so a run of them costs linear time
 * and cannot go on forever without a byte of data.
 */
import { HttpParseError } from './parse.js';

const SIZE = 0;
const EXT = 1;
/** whitespace after the size digits: only more whitespace, ';' or CR may follow */
const SIZE_BWS = 9;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER = 6;
const TRAILER_LF = 7;
const DONE = 8;

/** hex digit value of a byte, or -1 */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 256; c++) {
  if (c >= 48 && c <= 57) HEX[c] = c - 48;
  else if (c >= 65 && c <= 70) HEX[c] = c - 55;
  else if (c >= 97 && c <= 102) HEX[c] = c - 87;
}

/** a size at or above this, times 16, passes Number.MAX_SAFE_INTEGER (2^53 - 1): 2^49 */
const MAX_BEFORE_DIGIT = 2 ** 49;
/** bytes of chunk extensions, trailer fields and leading zeros of sizes accepted per message */
const MAX_META = 16 * 1024;

export class ChunkedDecoder {
  private state = SIZE;
  private remaining = 0;
  private digits = 0;
  private meta = 0;
  /** the current trailer line has had a byte (an empty line ends the trailers) */
  private lineHasBytes = false;
  /** body bytes handed out so far */
  total = 0;

  constructor(private readonly status = 400) {}

  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Check the first chunk-size line in buf[from, to), before anything is sent on: throws
   * when it is invalid, as feed() would. It consumes that line and returns the index just
   * past it, or -1 when the range ended inside the line (all of it consumed); feed() goes
   * on from there. Only for a decoder that has not been fed yet.
   */
  sizeLine(buf: Buffer, from: number, to: number): number {
    return this.feed(buf, from, to, null);
  }

  /**
   * Decode buf[from, to). `onData(buf, start, end)` gets each piece of chunk data. Returns
   * the index just past the end of the message when it ended inside this range, else -1.
   * With onData null (sizeLine), it stops just past the first size line.
   */
  feed(buf: Buffer, from: number, to: number, onData: ((b: Buffer, start: number, end: number) => void) | null): number {
    let i = from;
    while (i < to) {
      const c = buf[i];
      switch (this.state) {
        case SIZE: {
          const h = HEX[c];
          if (h >= 0) {
            if (this.remaining === 0) {
              // a leading zero: nothing to store, but each after the first counts like an extension byte
              if (h === 0 && this.digits > 0 && ++this.meta > MAX_META) this.fail('chunk size line too long (leading zeros)');
            } else if (this.remaining >= MAX_BEFORE_DIGIT) this.fail('chunk size too large (above 2^53 - 1)');
            this.remaining = this.remaining * 16 + h;
            this.digits++;
            i++;
          } else if (this.digits === 0) this.fail('invalid chunk size');
          else if (c === 13) { this.state = SIZE_LF; i++; } else if (c === 59 /* ; */) { this.state = EXT; i++; } else if (c === 32 || c === 9) { this.state = SIZE_BWS; i++; } else this.fail('invalid chunk size');
          break;
        }
        case SIZE_BWS:
          if (c === 13) this.state = SIZE_LF;
          else if (c === 59) this.state = EXT;
          else if (c !== 32 && c !== 9) this.fail('invalid chunk size (junk after whitespace)');
          if (++this.meta > MAX_META) this.fail('chunk extensions too long');
          i++;
          break;
        case EXT:
          // chunk-ext: no control bytes but HTAB; ends at CR
          if (c === 13) this.state = SIZE_LF;
          else if ((c < 32 && c !== 9) || c === 127) this.fail('invalid chunk extension');
          if (++this.meta > MAX_META) this.fail('chunk extensions too long');
          i++;
          break;
        case SIZE_LF:
          if (c !== 10) this.fail('chunk size line not ended by CRLF');
          i++;
          if (this.remaining === 0) { this.state = TRAILER; this.lineHasBytes = false; } else this.state = DATA;
          this.digits = 0;
          if (onData === null) return i;
          break;
        case DATA: {
          const n = Math.min(to - i, this.remaining);
          onData!(buf, i, i + n);
          this.total += n;
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (c !== 13) this.fail('chunk data longer than its size');
          this.state = DATA_LF;
          i++;
          break;
        case DATA_LF:
          if (c !== 10) this.fail('chunk data not ended by CRLF');
          this.state = SIZE;
          i++;
          break;
        case TRAILER:
          if (c === 13) this.state = TRAILER_LF;
          else if ((c < 32 && c !== 9) || c === 127) this.fail('invalid byte in a trailer field');
          else this.lineHasBytes = true;
          if (++this.meta > MAX_META) this.fail('trailer fields too long');
          i++;
          break;
        case TRAILER_LF:
          if (c !== 10) this.fail('trailer line not ended by CRLF');
          i++;
          if (!this.lineHasBytes) { this.state = DONE; return i; }
          this.state = TRAILER;
          this.lineHasBytes = false;
          break;
        default:
          return i;
      }
    }
    return this.state === DONE ? i : -1;
  }

  private fail(why: string): never {
    throw new HttpParseError(this.status, `invalid chunked body: ${why}`);
  }
}

/** the line that starts a chunk of `n` bytes */
export function chunkHeader(n: number): string {
  return `${n.toString(16)}\r\n`;
}

export const CHUNK_END = '\r\n';
export const LAST_CHUNK = '0\r\n\r\n';
