/** Small helpers for the reload tests: bounded waiting and requests that report their socket. */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { TestProxy } from './proxy.js';

/** poll until `pred` holds; throws after `ms` (liveness bound, not a performance target) */
export async function waitFor(pred: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Answer {
  status: number;
  backend: string | null;
  /** the request went out on a connection that served an earlier request */
  reused: boolean;
  /** the client-side port of the connection */
  localPort: number;
  body: string;
}

/** one request; with a keep-alive agent, `reused` tells whether the connection was kept */
export function ask(port: number, opts: { path?: string; host?: string; agent?: http.Agent | false; method?: string; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET',
      headers: { host: opts.host ?? 'x.example.com' },
      agent: opts.agent ?? false,
      timeout: opts.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      const localPort = res.socket?.localPort ?? 0;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        backend: (res.headers['x-backend'] as string | undefined) ?? null,
        reused: req.reusedSocket,
        localPort,
        body: Buffer.concat(chunks).toString(),
      }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** reload attempts recorded so far (ok and refused) */
export function attempts(p: TestProxy): number {
  const c = p.running.reloader.counts;
  return c.ok + c.refused;
}

/** wait until more than `count` reload attempts were recorded, and return the latest */
export async function nextResult(p: TestProxy, count: number, ms = 5000) {
  await waitFor(() => attempts(p) > count, ms, `reload attempt #${count + 1}`);
  return p.running.reloader.last!;
}

/** open connections a node server holds right now */
export function connectionsOf(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

/** write a file the way editors save: a new file renamed over the old one */
export function save(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.swp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
