/**
 * Raw HTTP/1.1 on a socket, for tests that need exact bytes on either leg: a client that
 * writes anything and reads responses one at a time, and a backend that reads requests
 * the same way and answers with whatever bytes the test writes. Messages are framed
 * strictly (Content-Length, chunked with CRLFs checked, or the close), so a proxy that
 * sends a byte too many or too few shows up as a garbled next message or a timeout.
 * Every wait is bounded.
 */
import net, { type AddressInfo } from 'node:net';

export interface WireMessage {
  /** the start line: "HTTP/1.1 200 OK" or "POST /x HTTP/1.1" */
  start: string;
  /** the response status, or 0 for a request */
  status: number;
  method: string;
  target: string;
  /** header fields in order, names as sent */
  headers: Array<[string, string]>;
  /** the first value of a header, by case-insensitive name */
  header(name: string): string | undefined;
  /** the body, decoded (chunked framing removed) */
  body: Buffer;
  /** the whole message as it arrived, head and framing included */
  raw: Buffer;
  chunked: boolean;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * Decode a chunked body starting at `at`; null when it is not complete yet. Throws on bad
 * framing. Returns the data and the index just past the end of the message.
 */
export function decodeChunked(b: Buffer, at: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let i = at;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) return null;
    const line = b.toString('latin1', i, eol);
    const m = /^([0-9a-fA-F]+)(;.*)?$/.exec(line);
    if (!m) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
    const size = parseInt(m[1], 16);
    i = eol + 2;
    if (size === 0) {
      // trailer fields, then an empty line
      for (;;) {
        const e = b.indexOf('\r\n', i);
        if (e < 0) return null;
        if (e === i) return { body: Buffer.concat(parts), end: e + 2 };
        i = e + 2;
      }
    }
    if (b.length < i + size + 2) return null;
    parts.push(b.subarray(i, i + size));
    if (b[i + size] !== 13 || b[i + size + 1] !== 10) throw new Error(`chunk data not followed by CRLF at byte ${i + size}`);
    i += size + 2;
  }
}

export class Wire {
  /** bytes received and not yet taken by request()/response() */
  buf: Buffer = Buffer.alloc(0);
  /** the peer sent FIN */
  ended = false;
  closed = false;
  error: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.wake?.(); });
    socket.on('end', () => { this.ended = true; this.wake?.(); });
    socket.on('error', (e) => { this.error = e; });
    socket.on('close', () => { this.closed = true; this.wake?.(); });
  }

  static open(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.off('error', reject); resolve(new Wire(s)); });
      s.once('error', reject);
    });
  }

  write(d: string | Buffer): boolean {
    return this.socket.write(d);
  }

  /** wait until `cond()` holds; throws after `ms`, or when the connection closed first */
  async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const got = JSON.stringify(this.buf.toString('latin1').slice(0, 300));
      if (this.closed) throw new Error(`connection closed while waiting for ${what}; unread bytes: ${got}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms; unread bytes: ${got}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); r(); };
      });
      this.wake = null;
    }
  }

  /** true when the peer closed (FIN or close) within `ms` */
  async closesWithin(ms: number): Promise<boolean> {
    try {
      await this.until(() => this.ended || this.closed, ms, 'close');
      return true;
    } catch {
      return false;
    }
  }

  /** the next response; `head` for a response to HEAD (no body whatever it says) */
  response(opts: { head?: boolean; ms?: number } = {}): Promise<WireMessage> {
    return this.message(true, opts.head ?? false, opts.ms ?? 5000);
  }

  /** the next request (for a raw backend) */
  request(ms = 5000): Promise<WireMessage> {
    return this.message(false, false, ms);
  }

  private async message(isResponse: boolean, bodiless: boolean, ms: number): Promise<WireMessage> {
    const deadline = Date.now() + ms;
    const left = () => Math.max(1, deadline - Date.now());
    await this.until(() => this.buf.indexOf(CRLF2) >= 0, left(), isResponse ? 'response head' : 'request head');
    const headEnd = this.buf.indexOf(CRLF2) + 4;
    const lines = this.buf.toString('latin1', 0, headEnd - 4).split('\r\n');
    const start = lines[0];
    let status = 0;
    let method = '';
    let target = '';
    if (isResponse) {
      const m = /^HTTP\/1\.[01] (\d{3})( .*)?$/.exec(start);
      if (!m) throw new Error(`not a status line: ${JSON.stringify(start)}`);
      status = Number(m[1]);
    } else {
      const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(start);
      if (!m) throw new Error(`not a request line: ${JSON.stringify(start)}`);
      method = m[1];
      target = m[2];
    }
    const headers: Array<[string, string]> = [];
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c <= 0) throw new Error(`bad header line ${JSON.stringify(l)}`);
      headers.push([l.slice(0, c), l.slice(c + 1).trim()]);
    }
    const header = (name: string) => headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const te = header('transfer-encoding');
    const cl = header('content-length');
    let body: Buffer = Buffer.alloc(0);
    let end = headEnd;
    const chunked = te !== undefined && /(^|,)\s*chunked\s*$/i.test(te);
    if (bodiless || (status >= 100 && status < 200) || status === 204 || status === 304) {
      // no body
    } else if (chunked) {
      let d: { body: Buffer; end: number } | null = null;
      await this.until(() => (d = decodeChunked(this.buf, headEnd)) !== null, left(), 'end of a chunked body');
      body = d!.body;
      end = d!.end;
    } else if (cl !== undefined) {
      const n = Number(cl);
      await this.until(() => this.buf.length >= headEnd + n, left(), `${n} body bytes`);
      body = this.buf.subarray(headEnd, headEnd + n);
      end = headEnd + n;
    } else if (isResponse) {
      await this.until(() => this.ended || this.closed, left(), 'the close that ends the body');
      body = this.buf.subarray(headEnd);
      end = this.buf.length;
    }
    const raw = this.buf.subarray(0, end);
    this.buf = this.buf.subarray(end);
    return { start, status, method, target, headers, header, body: Buffer.from(body), raw: Buffer.from(raw), chunked };
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface RawServer {
  port: number;
  url: string;
  /** every connection accepted, in order */
  conns: Wire[];
  close(): Promise<void>;
}

/** a TCP server on 127.0.0.1:0 that hands each connection to `onConn` as a Wire */
export async function startRawServer(onConn: (w: Wire) => void): Promise<RawServer> {
  const conns: Wire[] = [];
  const server = net.createServer((s) => {
    const w = new Wire(s);
    conns.push(w);
    onConn(w);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port, url: `http://127.0.0.1:${port}`, conns,
    close: () => new Promise<void>((r) => { for (const w of conns) w.close(); server.close(() => r()); }),
  };
}
