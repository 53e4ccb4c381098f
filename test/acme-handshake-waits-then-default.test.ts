/**
 * A handshake for a name whose order is in progress waits up to acme.wait seconds, then
 * gets the default certificate; the wait is a promise (the event loop turns meanwhile)
 * and other names are answered at once. A certificate of the tls table wins over ACME.
 */
import { describe, it, expect } from 'vitest';
import tls, { type SecureContext } from 'node:tls';
import { acmeChooser, type AcmeRuntime } from '../src/config/acme.js';

const ctx = (label: string) => Object.assign(tls.createSecureContext({}), { label }) as SecureContext & { label: string };

describe('the TLS choice with ACME on', () => {
  const fallback = ctx('default');
  const held = ctx('held');
  const own = ctx('own');
  let obtains = 0;
  const runtime: AcmeRuntime = {
    context: (name) => (name === 'held.example.com' ? held : null),
    obtain: () => { obtains++; return new Promise(() => {}); }, // an order that never ends
    challenge: () => null,
    refused: () => {},
    status: () => [],
    counts: {},
  };
  const choose = acmeChooser({ own: (n) => (n === 'own.example.com' ? own : null), fallback, allow: (n) => n.endsWith('.ok.net'), runtime, wait: 0.2 });

  it('waits for an order up to acme.wait, then gives the default; the loop turns meanwhile', async () => {
    const t0 = performance.now();
    const p = choose('slow.ok.net');
    expect(p).toBeInstanceOf(Promise);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const got = await p;
    clearInterval(timer);
    expect(got).toBe(fallback);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(ticks).toBeGreaterThan(3);
    expect(obtains).toBe(1);
  });

  it('answers other names at once: held, own, refused, none', () => {
    expect(choose('held.example.com')).toBe(held);
    expect(choose('own.example.com')).toBe(own);
    expect(choose('evil.example.org')).toBe(fallback);
    expect(choose(null)).toBe(fallback);
  });
});
