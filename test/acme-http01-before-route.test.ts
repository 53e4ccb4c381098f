/**
 * The routing step answers an HTTP-01 challenge of a pending order before route() runs,
 * on plain HTTP only; every other path, a token that is not pending, and HTTPS requests
 * go to route() as before, so an http-to-https redirect script keeps working. Without
 * an acme table nothing changes.
 */
import { describe, it, expect } from 'vitest';
import type { SecureContext } from 'node:tls';
import { loadConfig } from '../src/config/load.js';
import { decide } from '../src/routing/decide.js';
import { RouteCall, requestSource } from '../src/routing/call.js';
import type { AcmeRuntime } from '../src/config/acme.js';

const REDIRECT = 'backends = {}\nfunction route(host, path, req)\n  if req.scheme == "http" then return { status = 308, headers = { location = "https://" .. host .. req.url } } end\n  return { status = 200, body = "secure" }\nend\n';

const runtime: AcmeRuntime = {
  context: () => null,
  obtain: async (): Promise<SecureContext | null> => null,
  challenge: (token) => (token === 'tok-EN_1' ? 'tok-EN_1.thumbprint' : null),
  refused: () => {},
  status: () => [],
  counts: {},
};

function ask(cfg: ReturnType<typeof loadConfig>, target: string, scheme: 'http' | 'https' = 'http') {
  return decide(cfg, new RouteCall(requestSource('GET', target, 'shop.example.com', []), '10.0.0.1', { scheme, sni: scheme === 'https' ? 'shop.example.com' : null }));
}

describe('HTTP-01 in the routing step', () => {
  const cfg = loadConfig('acme.lua', { source: `acme = {}\n${REDIRECT}`, acme: runtime });

  it('answers a pending token with its key authorization, before route()', () => {
    const d = ask(cfg, '/.well-known/acme-challenge/tok-EN_1');
    expect(d).toMatchObject({ kind: 'respond', status: 200 });
    expect(d.kind === 'respond' && d.body?.toString()).toBe('tok-EN_1.thumbprint');
  });

  it('sends every other request to route(): another path, an unknown token, the bare prefix, HTTPS', () => {
    expect(ask(cfg, '/.well-known/acme-challenge/other')).toMatchObject({ kind: 'respond', status: 308 });
    expect(ask(cfg, '/.well-known/acme-challenge/')).toMatchObject({ kind: 'respond', status: 308 });
    expect(ask(cfg, '/pricing?x=1')).toMatchObject({ kind: 'respond', status: 308, headers: [['location', 'https://shop.example.com/pricing?x=1']] });
    expect(ask(cfg, '/.well-known/acme-challenge/tok-EN_1', 'https')).toMatchObject({ kind: 'respond', status: 200 });
    const secure = ask(cfg, '/.well-known/acme-challenge/tok-EN_1', 'https');
    expect(secure.kind === 'respond' && secure.body?.toString()).toBe('secure');
  });

  it('changes nothing without an acme table, or in a load for routing only', () => {
    const off = loadConfig('off.lua', { source: REDIRECT, acme: runtime });
    expect(off.acmeChallenge).toBeNull();
    expect(ask(off, '/.well-known/acme-challenge/tok-EN_1')).toMatchObject({ kind: 'respond', status: 308 });
    const routing = loadConfig('acme.lua', { source: `acme = {}\n${REDIRECT}`, acme: runtime, routingOnly: true });
    expect(ask(routing, '/.well-known/acme-challenge/tok-EN_1')).toMatchObject({ kind: 'respond', status: 308 });
  });
});
