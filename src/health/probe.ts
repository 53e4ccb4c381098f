/**
 * One active health check of one backend: an HTTP request (method and path from the
 * settings, healthy when the status is in the expected range) or, with no path, a bare
 * TCP connect. Both are cheap for the backend: the HTTP check sends `connection: close`
 * and stops reading at the status line. Every check ends within its timeout.
 */
import http from 'node:http';
import net from 'node:net';

export interface ProbeSettings {
  path: string | null;
  method: string;
  timeout: number;
  expect: readonly number[];
}

export interface ProbeResult {
  ok: boolean;
  /** what was seen: "HTTP 200", "HTTP 503 (expected 200-399)", "ECONNREFUSED", "timeout after 2s" */
  detail: string;
}

export type Probe = (url: string, s: ProbeSettings) => Promise<ProbeResult>;

export const probe: Probe = (url, s) => (s.path ? httpProbe(url, s) : tcpProbe(url, s));

function target(url: string): { host: string; port: number; hostHeader: string } {
  const u = new URL(url);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: Number(u.port || 80), hostHeader: u.host };
}

function errText(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);
}

/** run one probe: `open` starts it and returns what to destroy; the first result, or the timeout, wins */
function settleOnce(timeoutS: number, open: (done: (r: ProbeResult) => void) => { destroy(): void }): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let handle: { destroy(): void } | null = null;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      handle?.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `timeout after ${timeoutS}s` }), timeoutS * 1000);
    handle = open(done);
    if (settled) handle.destroy();
  });
}

function httpProbe(url: string, s: ProbeSettings): Promise<ProbeResult> {
  const t = target(url);
  return settleOnce(s.timeout, (done) => {
    const req = http.request({
      host: t.host, port: t.port, method: s.method, path: s.path ?? '/', agent: false,
      headers: { host: t.hostHeader, 'user-agent': 'luaproxy-health-check', connection: 'close' },
    }, (res) => {
      const st = res.statusCode ?? 0;
      res.on('error', () => {});
      const ok = st >= s.expect[0] && st <= s.expect[1];
      done({ ok, detail: ok ? `HTTP ${st}` : `HTTP ${st} (expected ${s.expect[0]}-${s.expect[1]})` });
    });
    req.on('error', (e) => done({ ok: false, detail: errText(e) }));
    req.end();
    return req;
  });
}

function tcpProbe(url: string, s: ProbeSettings): Promise<ProbeResult> {
  const t = target(url);
  return settleOnce(s.timeout, (done) => {
    const sock = net.connect({ host: t.host, port: t.port }, () => done({ ok: true, detail: 'TCP connect' }));
    sock.on('error', (e) => done({ ok: false, detail: errText(e) }));
    return sock;
  });
}
