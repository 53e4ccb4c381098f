/**
 * A backend on a raw TCP socket: it records the exact bytes the proxy sent, parses them
 * with a deliberately strict HTTP/1.1 parser (anything a lenient server might read two
 * ways counts as an ambiguity), and answers each message with whatever bytes the
 * scenario scripts, including broken ones.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Message {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  body: Buffer;
  raw: Buffer;
}

export interface ParseResult {
  messages: Message[];
  /** bytes after the last complete message (an incomplete one, or smuggled junk) */
  rest: Buffer;
  /** why the bytes are ambiguous or malformed, or null */
  error: string | null;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** strict parse of a request stream; stops at the first ambiguity */
export function parseRequests(buf: Buffer): ParseResult {
  const messages: Message[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return { messages, rest: buf.subarray(at), error: null };
    const head = buf.subarray(at, end).toString('latin1');
    const lines = head.split('\r\n');
    const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0]);
    if (!m) return { messages, rest: buf.subarray(at), error: `bad request line ${JSON.stringify(lines[0])}` };
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':');
      const name = line.slice(0, c);
      const value = line.slice(c + 1).trim();
      if (c <= 0 || !TOKEN.test(name)) return { messages, rest: buf.subarray(at), error: `bad header line ${JSON.stringify(line)}` };
      if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return { messages, rest: buf.subarray(at), error: `control byte in header ${name}` };
      headers.push([name, value]);
    }
    const all = (n: string) => headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
    const cl = all('content-length');
    const te = all('transfer-encoding');
    if (all('host').length !== 1) return { messages, rest: buf.subarray(at), error: `${all('host').length} Host headers` };
    if (cl.length > 1) return { messages, rest: buf.subarray(at), error: 'several Content-Length headers' };
    if (cl.length && te.length) return { messages, rest: buf.subarray(at), error: 'both Content-Length and Transfer-Encoding' };
    if (te.length && !(te.length === 1 && te[0].toLowerCase() === 'chunked')) return { messages, rest: buf.subarray(at), error: `Transfer-Encoding ${JSON.stringify(te)}` };
    if (cl.length && !/^\d+$/.test(cl[0])) return { messages, rest: buf.subarray(at), error: `Content-Length ${JSON.stringify(cl[0])}` };
    let p = end + 4;
    let body: Buffer;
    if (te.length) {
      const parts: Buffer[] = [];
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) return { messages, rest: buf.subarray(at), error: null };
        const sizeLine = buf.subarray(p, le).toString('latin1');
        if (!/^[0-9a-fA-F]{1,8}$/.test(sizeLine)) return { messages, rest: buf.subarray(at), error: `chunk size line ${JSON.stringify(sizeLine)}` };
        const size = parseInt(sizeLine, 16);
        p = le + 2;
        if (size === 0) {
          if (buf.length < p + 2) return { messages, rest: buf.subarray(at), error: null };
          if (buf.subarray(p, p + 2).toString('latin1') !== '\r\n') return { messages, rest: buf.subarray(at), error: 'trailers after the last chunk' };
          p += 2;
          break;
        }
        if (buf.length < p + size + 2) return { messages, rest: buf.subarray(at), error: null };
        parts.push(buf.subarray(p, p + size));
        if (buf.subarray(p + size, p + size + 2).toString('latin1') !== '\r\n') return { messages, rest: buf.subarray(at), error: 'chunk not followed by CRLF' };
        p += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const n = cl.length ? Number(cl[0]) : 0;
      if (buf.length < p + n) return { messages, rest: buf.subarray(at), error: null };
      body = buf.subarray(p, p + n);
      p += n;
    }
    messages.push({ method: m[1], target: m[2], version: m[3], headers, body, raw: buf.subarray(at, p) });
    at = p;
  }
}

export interface RawConn {
  socket: net.Socket;
  index: number;
  bytes: Buffer;
  handled: number;
  /** once set (after a 101), raw bytes go here instead of the HTTP parser */
  tunnel?: (c: Buffer) => void;
  /** bytes received after the connection became a tunnel */
  tunnelled?: Buffer;
}

export type Behaviour = (conn: RawConn, msg: Message) => void;

export interface RawBackend {
  port: number;
  url: string;
  conns: RawConn[];
  /** every complete message, in order of arrival */
  messages: Message[];
  /** strict-parse errors: bytes that a lenient server could read two ways */
  problems: string[];
  /** connections that closed inside a message (an aborted request: not ambiguous) */
  truncated: string[];
  close(): Promise<void>;
}

export const OK = (body = 'ok', extra = '') => `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

/** answers each complete message with `behaviour` (default: 200 "ok", keep-alive) */
export async function rawBackend(behaviour: Behaviour = (c) => c.socket.write(OK())): Promise<RawBackend> {
  const conns: RawConn[] = [];
  const messages: Message[] = [];
  const problems: string[] = [];
  const truncated: string[] = [];
  const server = net.createServer((socket) => {
    const conn: RawConn = { socket, index: conns.length, bytes: Buffer.alloc(0), handled: 0 };
    conns.push(conn);
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      if (conn.tunnel) { conn.tunnelled = Buffer.concat([conn.tunnelled ?? Buffer.alloc(0), c]); conn.tunnel(c); return; }
      conn.bytes = Buffer.concat([conn.bytes, c]);
      const r = parseRequests(conn.bytes);
      if (r.error) {
        problems.push(`connection ${conn.index}: ${r.error}`);
        socket.destroy();
        return;
      }
      for (const m of r.messages.slice(conn.handled)) {
        if (conn.tunnel) break;
        conn.handled++;
        messages.push(m);
        if (!socket.destroyed) behaviour(conn, m);
      }
    });
    socket.on('close', () => {
      const r = parseRequests(conn.bytes);
      if (!r.error && r.rest.length && !conn.tunnel) truncated.push(`connection ${conn.index}: ${r.rest.length} bytes left after the last complete message: ${JSON.stringify(r.rest.toString('latin1').slice(0, 80))}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port, url: `http://127.0.0.1:${port}`, conns, messages, problems, truncated,
    close: () => new Promise<void>((r) => { for (const c of conns) c.socket.destroy(); server.close(() => r()); }),
  };
}

/** header value of a parsed message (first, case-insensitive) */
export function header(m: Message, name: string): string | undefined {
  return m.headers.find(([k]) => k.toLowerCase() === name)?.[1];
}
