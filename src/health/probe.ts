/**
 * One active health check of one backend: an HTTP request (method and path from the
 * settings, healthy when the status is in the expected range) or, with no path, a bare
 * TCP connect. Both are cheap for the backend: the HTTP check sends `connection: close`
 * and stops reading at the status line. Every check ends within its timeout. A check
 * reaches the backend the way requests do: over TLS with the backend's own `ca`,
 * `verify` and `servername` for https, and after a PROXY header (a LOCAL one: the check
 * is the proxy's own) for a backend that expects one.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { PROXY_V2_SIGNATURE } from '../http1/proxy-protocol.js';

/** how the backend is reached, beyond its URL (a backend entry's options) */
export interface ProbeTransport {
  /** PEM CA certificates instead of node's default ones */
  ca: Buffer | null;
  verify: boolean;
  servername: string | null;
  proxyProtocol: 'v1' | 'v2' | null;
}

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

export type Probe = (url: string, s: ProbeSettings, how?: ProbeTransport) => Promise<ProbeResult>;

export const probe: Probe = (url, s, how) => (s.path ? httpProbe(url, s, how) : tcpProbe(url, s, how));

function target(url: string): { host: string; port: number; hostHeader: string; secure: boolean } {
  const u = new URL(url);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const secure = u.protocol === 'https:';
  return { host, port: Number(u.port || (secure ? 443 : 80)), hostHeader: u.host, secure };
}

/** a PROXY header that says "this connection is the proxy's own" (v1 UNKNOWN, v2 LOCAL) */
function localHeader(v: 'v1' | 'v2'): Buffer {
  if (v === 'v1') return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
}

/** a TCP connection that starts with the LOCAL PROXY header when the backend expects one */
function connectTcp(t: { host: string; port: number }, how: ProbeTransport | undefined, onConnect: () => void): net.Socket {
  const sock = net.connect({ host: t.host, port: t.port }, onConnect);
  // queued now, so it goes out before anything written later (the request, a ClientHello)
  if (how?.proxyProtocol) sock.write(localHeader(how.proxyProtocol));
  return sock;
}

function tlsOptions(t: { host: string }, how: ProbeTransport | undefined): tls.ConnectionOptions {
  const name = how?.servername ?? (net.isIP(t.host) ? undefined : t.host);
  // node checks the certificate against servername when one is given
  return { servername: name, ca: how?.ca ?? undefined, rejectUnauthorized: how?.verify ?? true };
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

function httpProbe(url: string, s: ProbeSettings, how?: ProbeTransport): Promise<ProbeResult> {
  const t = target(url);
  return settleOnce(s.timeout, (done) => {
    const options: https.RequestOptions = {
      host: t.host, port: t.port, method: s.method, path: s.path ?? '/', agent: false,
      headers: { host: t.hostHeader, 'user-agent': 'luaproxy-health-check', connection: 'close' },
      ...(t.secure ? tlsOptions(t, how) : {}),
    };
    if (how?.proxyProtocol) {
      // the header goes first, in clear, then TLS (if any) over the same connection
      // with an agent (agent: false makes one), node ignores createConnection
      options.agent = undefined;
      options.createConnection = () => {
        const raw = connectTcp(t, how, () => {});
        return t.secure ? tls.connect({ socket: raw, ...tlsOptions(t, how) }) : raw;
      };
    }
    const req = (t.secure ? https : http).request(options, (res) => {
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

function tcpProbe(url: string, s: ProbeSettings, how?: ProbeTransport): Promise<ProbeResult> {
  const t = target(url);
  return settleOnce(s.timeout, (done) => {
    const sock = connectTcp(t, how, () => done({ ok: true, detail: 'TCP connect' }));
    sock.on('error', (e) => done({ ok: false, detail: errText(e) }));
    return sock;
  });
}
