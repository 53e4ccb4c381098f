/**
 * A name tls_allow allows gets its certificate on its first handshake: that handshake
 * waits for the order (pebble validates HTTP-01 against the plain listener) and is
 * served the new certificate, and later handshakes get the same one without a new order.
 * /status lists the name with its issuer, expiry and next renewal; /metrics counts the
 * issuance and shows the certificate's expiry.
 */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { freePort, pebbleMissing } from './helpers/pebble.js';
import { acmeEnv, acmeScript, ROUTE_ECHO, defaultCertTable } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';
import { ADMIN_ON_LOOPBACK, scrape, status, value } from './helpers/admin.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: a name tls_allow allows${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const env = acmeEnv('allow');
  const dir = env.dir;

  it('is obtained on its first handshake, which waits for it, and served from then on', async () => {
    const httpPort = await freePort();
    const pebble = await env.pebble({ httpPort });
    const script = acmeScript(pebble, httpPort, path.join(dir, 'acme')) + await defaultCertTable(dir) + ADMIN_ON_LOOPBACK
      + 'function tls_allow(host) return host:sub(-#".customers.example.net") == ".customers.example.net" end\n' + ROUTE_ECHO;
    const proxy = await env.proxy(script);
    expect(pebble.orders()).toBe(0);

    const name = 'shop.customers.example.net';
    // verified against pebble's root, with the name checked: only the ordered certificate passes
    const first = await httpsGet({ port: proxy.tlsPort, servername: name, host: name, ca: pebble.root, path: '/a' });
    expect(first.status).toBe(200);
    expect(first.body).toBe(`https ${name} /a`);
    expect(pebble.orders()).toBe(1);

    const again = await httpsGet({ port: proxy.tlsPort, servername: name, host: name, ca: pebble.root, path: '/b' });
    expect(again.serial).toBe(first.serial);
    expect(pebble.orders()).toBe(1);

    const managed = (await status(proxy)).acme.names as Array<Record<string, unknown>>;
    expect(managed).toHaveLength(1);
    expect(managed[0]).toMatchObject({ name, serial: first.serial, ordering: false, last_error: null });
    expect(String(managed[0].issuer)).toMatch(/Pebble/);
    expect(Date.parse(String(managed[0].next_renewal))).toBeLessThan(Date.parse(String(managed[0].not_after)));
    const samples = await scrape(proxy);
    expect(value(samples, 'luaproxy_acme_events_total', { event: 'issued' })).toBe(1);
    expect(value(samples, 'luaproxy_certificate_expiry_seconds', { name, serial: first.serial })).toBeGreaterThan(86_400);
  }, 60_000);
});
