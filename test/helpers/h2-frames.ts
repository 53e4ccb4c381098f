/**
 * A raw HTTP/2 client for abuse tests: it writes frames as given (what a well-behaved
 * client library refuses to send: CONTINUATION floods, HPACK bombs, reset loops, a
 * window that never opens) over a real TLS connection that negotiated h2, and records
 * the frames the server sends back. HPACK is written by hand: literal fields without
 * Huffman coding, and indexed references into the dynamic table.
 */
import tls from 'node:tls';

export const T_DATA = 0;
export const T_HEADERS = 1;
export const T_RST_STREAM = 3;
export const T_SETTINGS = 4;
export const T_PING = 6;
export const T_GOAWAY = 7;
export const T_WINDOW_UPDATE = 8;
export const T_CONTINUATION = 9;
export const END_STREAM = 1;
export const END_HEADERS = 4;
export const ACK = 1;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** an HPACK integer with an n-bit prefix, the first byte or-ed with `first` */
export function hpackInt(value: number, n: number, first: number): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  value -= max;
  while (value >= 128) { out.push((value % 128) + 128); value = Math.floor(value / 128); }
  out.push(value);
  return Buffer.from(out);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(b.length, 7, 0), b]);
}

/** a literal field without indexing (new name) */
export function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), str(name), str(value)]);
}

/** a literal field with incremental indexing: it enters the dynamic table (index 62 when newest) */
export function literalIndexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), str(name), str(value)]);
}

/** a reference to table entry `index` (62 = the newest dynamic entry) */
export function indexed(index: number): Buffer {
  return hpackInt(index, 7, 0x80);
}

/** the header block of a plain GET */
export function getBlock(authority: string, path = '/'): Buffer {
  return Buffer.concat([literal(':method', 'GET'), literal(':scheme', 'https'), literal(':authority', authority), literal(':path', path)]);
}

export interface Frame { type: number; flags: number; stream: number; payload: Buffer }

export interface RawH2 {
  socket: tls.TLSSocket;
  frames: Frame[];
  /** bytes of DATA received, by stream */
  data: Map<number, number>;
  write(b: Buffer): boolean;
  /** resolves when the server closed the connection (or after `ms`, with false) */
  closed(ms: number): Promise<boolean>;
  goaway(): Frame | undefined;
  /** stop reading the socket (the kernel buffers fill, then the server's writes back up) */
  stopReading(): void;
  close(): void;
}

/**
 * Connect with ALPN h2, send the preface and an empty SETTINGS (or `settings`), and ACK
 * the server's SETTINGS. WINDOW_UPDATEs are never sent unless the caller writes them.
 */
export function connectRaw(port: number, servername: string, ca: string, settings: Buffer = Buffer.alloc(0)): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['h2'] });
    const frames: Frame[] = [];
    const data = new Map<number, number>();
    let buf = Buffer.alloc(0);
    let isClosed = false;
    const waiters: Array<() => void> = [];
    socket.on('error', () => {});
    socket.on('close', () => { isClosed = true; for (const w of waiters.splice(0)) w(); });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f: Frame = { type: buf[3], flags: buf[4], stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
        buf = buf.subarray(9 + len);
        if (f.type === T_DATA) data.set(f.stream, (data.get(f.stream) ?? 0) + len);
        else frames.push(f);
        if (f.type === T_SETTINGS && (f.flags & ACK) === 0 && !socket.destroyed) socket.write(frame(T_SETTINGS, ACK, 0));
      }
    });
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') { reject(new Error(`ALPN gave ${String(socket.alpnProtocol)}, not h2`)); socket.destroy(); return; }
      socket.write(Buffer.concat([PREFACE, frame(T_SETTINGS, 0, 0, settings)]));
      resolve({
        socket, frames, data,
        write: (b) => !socket.destroyed && socket.write(b),
        closed: (ms) => new Promise((res) => {
          if (isClosed) { res(true); return; }
          const t = setTimeout(() => res(false), ms);
          waiters.push(() => { clearTimeout(t); res(true); });
        }),
        goaway: () => frames.find((f) => f.type === T_GOAWAY),
        stopReading: () => { socket.pause(); socket.removeAllListeners('data'); },
        close: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** SETTINGS payload entries (id, value) */
export function settingsPayload(entries: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(6 * entries.length);
  entries.forEach(([id, v], i) => { b.writeUInt16BE(id, 6 * i); b.writeUInt32BE(v, 6 * i + 2); });
  return b;
}

/** the error code of a GOAWAY or RST_STREAM frame */
export function errorCode(f: Frame): number {
  return f.type === T_GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0);
}
