/**
 * Raw TCP clients: send exact bytes, collect the answer, and judge its framing the way
 * a careful client would (a body shorter than its Content-Length, or a chunked body
 * without its last chunk, is visibly truncated; one that ends by close is not).
 */
import net from 'node:net';

export interface RawReply { data: Buffer; text: string; closed: boolean; reset: boolean }

/** write `data` on a fresh connection; collect until the peer closes or `ms` passes */
export function rawSend(port: number, data: string | Buffer | Array<string | Buffer>, ms = 3000, gapMs = 0, opts: { untilResponse?: boolean } = {}): Promise<RawReply> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let reset = false;
    const s = net.connect(port, '127.0.0.1', async () => {
      const parts = Array.isArray(data) ? data : [data];
      for (const p of parts) {
        if (s.destroyed) break;
        s.write(p);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      const buf = Buffer.concat(chunks);
      resolve({ data: buf, text: buf.toString('latin1'), closed, reset });
    };
    const t = setTimeout(() => finish(false), ms);
    s.on('data', (c) => {
      chunks.push(c);
      if (opts.untilResponse) {
        const rs = parseResponses(Buffer.concat(chunks));
        if (rs.length && rs[0].complete && rs[0].status >= 200) finish(false);
      }
    });
    s.on('close', () => finish(true));
    s.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'ECONNRESET') reset = true; finish(true); });
  });
}

export interface ParsedResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
  /** framing says the body is complete */
  complete: boolean;
  /** the body had no length and ended by close (complete only if the close was clean) */
  closeDelimited: boolean;
  rest: Buffer;
}

/** parse the responses in `buf`, in order, as framed by their headers */
export function parseResponses(buf: Buffer, headRequest = false): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0);
    const headers = lines.slice(1).map((l) => { const c = l.indexOf(':'); return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()] as [string, string]; });
    const h = (n: string) => headers.find(([k]) => k === n)?.[1];
    let p = end + 4;
    const r: ParsedResponse = { status, headers, body: Buffer.alloc(0), complete: false, closeDelimited: false, rest: Buffer.alloc(0) };
    out.push(r);
    if (headRequest || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      r.complete = true;
    } else if (h('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) break;
        const size = parseInt(buf.subarray(p, le).toString('latin1'), 16);
        if (Number.isNaN(size)) break;
        if (size === 0) { r.complete = buf.indexOf('\r\n', le + 2) === le + 2; p = le + 4; break; }
        if (buf.length < le + 2 + size + 2) { parts.push(buf.subarray(le + 2)); p = buf.length; break; }
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      r.body = Buffer.concat(parts);
    } else if (h('content-length') !== undefined) {
      const n = Number(h('content-length'));
      r.body = buf.subarray(p, Math.min(buf.length, p + n));
      r.complete = r.body.length === n;
      p += r.body.length;
    } else {
      r.body = buf.subarray(p);
      r.closeDelimited = true;
      p = buf.length;
    }
    at = p;
    if (!r.complete) break;
  }
  if (out.length) out[out.length - 1].rest = buf.subarray(at);
  return out;
}
