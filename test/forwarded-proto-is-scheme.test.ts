/**
 * X-Forwarded-Proto and Forwarded's proto= carry the scheme the client came by (the
 * request's `scheme`: "https" on a TLS listener), not a fixed "http". This checks the
 * head the proxy writes directly, since the scheme is all that differs.
 */
import { describe, it, expect } from 'vitest';
import { headEnd, parseRequestHead } from '../src/http1/parse.js';
import { backendRequestHead } from '../src/proxy/headers.js';

function request(text: string): ReturnType<typeof parseRequestHead> {
  const buf = Buffer.from(text, 'latin1');
  return parseRequestHead(buf, 0, headEnd(buf, 0, 0, 1 << 16));
}

describe('the forwarded proto is the request\'s scheme', () => {
  const settings = { x_forwarded: true, forwarded: true, trust: [] };
  const head = request('GET / HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-Proto: gopher\r\n\r\n');

  for (const scheme of ['http', 'https'] as const) {
    it(scheme, () => {
      const out = backendRequestHead(head, '/', '192.0.2.1', null, null, null, scheme, settings);
      expect(out.match(/^x-forwarded-proto: .*$/gim)).toEqual([`x-forwarded-proto: ${scheme}`]);
      expect(out.match(/^forwarded: .*$/gim)).toEqual([`forwarded: for=192.0.2.1;proto=${scheme};host=app.example`]);
    });
  }
});
