/** A bounded keep-alive load loop for resilience tests: `total` requests over `hosts`, `concurrency` at a time. */
import http from 'node:http';

export interface LoadResult {
  sent: number;
  ok: number;
  statuses: Record<number, number>;
  errors: Record<string, number>;
  /** host -> backend (x-backend) -> count */
  byHost: Record<string, Record<string, number>>;
}

export async function load(url: string, opts: { hosts: string[]; total: number; concurrency: number; path?: string; timeoutMs?: number }): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const r: LoadResult = { sent: 0, ok: 0, statuses: {}, errors: {}, byHost: {} };
  const u = new URL(url);
  const one = (): Promise<void> => {
    if (r.sent >= opts.total) return Promise.resolve();
    const host = opts.hosts[r.sent++ % opts.hosts.length];
    return new Promise<void>((resolve) => {
      const fail = (e: Error & { code?: string }) => { const k = e.code ?? e.message; r.errors[k] = (r.errors[k] ?? 0) + 1; resolve(); };
      const req = http.get({ host: u.hostname, port: u.port, path: opts.path ?? '/', agent, headers: { host }, timeout: opts.timeoutMs ?? 5000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const st = res.statusCode ?? 0;
          r.statuses[st] = (r.statuses[st] ?? 0) + 1;
          if (st === 200) {
            r.ok++;
            const be = String(res.headers['x-backend'] ?? 'none');
            const m = (r.byHost[host] ??= {});
            m[be] = (m[be] ?? 0) + 1;
          }
          resolve();
        });
        res.on('error', fail);
      });
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', fail);
    }).then(one);
  };
  await Promise.all(Array.from({ length: opts.concurrency }, one));
  agent.destroy();
  return r;
}

export function hostList(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `h${i + 1}.example.com`);
}
