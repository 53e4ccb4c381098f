/** Plain node:http requests for tests, one fresh connection each unless an agent is given. */
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export function get(url: string, opts: { host?: string; method?: string; headers?: Record<string, string>; body?: Buffer | string; agent?: http.Agent; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET',
      headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers },
      agent: opts.agent ?? false,
      timeout: opts.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** write raw bytes on a fresh TCP connection and collect everything until the server closes or `ms` passes */
export async function raw(port: number, data: string | Buffer, ms = 2000): Promise<string> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    const done = () => { clearTimeout(t); s.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); };
    const t = setTimeout(done, ms);
    s.on('data', (c) => chunks.push(c));
    s.on('close', done);
    s.on('error', done);
  });
}

/** write `body` as fast as the reader (the proxy) takes it, in 256 KiB writes, then end */
export function writeAsFastAsRead(res: import('node:http').ServerResponse, body: Buffer): void {
  let at = 0;
  const more = () => {
    while (at < body.length) {
      const end = Math.min(body.length, at + 256 * 1024);
      const ok = res.write(body.subarray(at, end));
      at = end;
      if (!ok) { res.once('drain', more); return; }
    }
    res.end();
  };
  more();
}
