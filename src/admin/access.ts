/**
 * Who may use the admin listener. On loopback with no token, anyone on the machine may,
 * so the listener still refuses what a web page in a local browser could forge: a Host
 * header that is not a loopback name (DNS rebinding) and a cross-origin POST. Beyond
 * loopback a bearer token is required, compared in constant time.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import type { IncomingMessage } from 'node:http';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s).digest();
}

/** `Authorization: Bearer <token>` matches */
export function tokenMatches(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m !== null && crypto.timingSafeEqual(digest(m[1]), digest(token));
}

/** the Host header names a loopback address (what a browser sends for http://127.0.0.1:PORT) */
export function hostIsLoopback(req: IncomingMessage): boolean {
  const host = req.headers.host ?? '';
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(host);
  return m !== null && isLoopback(m[1]);
}

/** a POST that a browser sent from another origin (a page the operator happened to open) */
export function crossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return (req.headers['sec-fetch-site'] ?? 'same-origin') === 'cross-site';
  return origin !== `http://${req.headers.host ?? ''}`;
}
