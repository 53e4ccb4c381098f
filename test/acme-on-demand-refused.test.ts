/**
 * A name tls_allow refuses gets the default certificate, and the ACME server receives no
 * order for it (pebble's log counts none); the refusal is one log line and a count, and
 * tls_allow is asked once for the name, not once per handshake.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, pebbleMissing } from './helpers/pebble.js';
import { acmeEnv, acmeScript, ROUTE_ECHO, defaultCertTable } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: a name tls_allow refuses${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const env = acmeEnv('refuse');
  const dir = env.dir;

  it('gets the default certificate and places no order', async () => {
    const httpPort = await freePort();
    const pebble = await env.pebble({ httpPort });
    const script = acmeScript(pebble, httpPort, path.join(dir, 'acme')) + await defaultCertTable(dir)
      + 'asked = 0\nfunction tls_allow(host) asked = asked + 1; print("asked " .. host .. " " .. asked) return host == "ok.example.com" end\n' + ROUTE_ECHO;
    const proxy = await env.proxy(script);
    const defaultPem = fs.readFileSync(path.join(dir, 'default.pem'), 'utf8');
    for (let i = 0; i < 3; i++) {
      const r = await httpsGet({ port: proxy.tlsPort, servername: 'evil.example.org', host: 'evil.example.org', ca: defaultPem, check: false });
      expect(r.status).toBe(200);
      expect(r.serial).toBe(new (await import('node:crypto')).X509Certificate(defaultPem).serialNumber);
    }
    // give a wrongly placed order time to reach pebble
    await new Promise((r) => setTimeout(r, 500));
    expect(pebble.orders()).toBe(0);
    expect(pebble.log()).not.toContain('evil.example.org');
    expect(proxy.logs.filter((l) => l.acme?.event === 'refused' && l.acme?.name === 'evil.example.org')).toHaveLength(1);
    expect(proxy.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('asked evil.example.org'))).toHaveLength(1);
    expect(proxy.running.config.acmeRuntime!.counts.refused).toBe(1);
    expect(proxy.running.config.acmeRuntime!.status()).toEqual([]);
  }, 60_000);
});
