/**
 * A restart loads what the storage holds: a certificate still valid is served again and
 * not ordered again (pebble receives no second order).
 */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { freePort, pebbleMissing } from './helpers/pebble.js';
import { acmeEnv, acmeScript, ROUTE_ECHO, waitLog, acmeEvent } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: a restart${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const env = acmeEnv('restart');
  const dir = env.dir;

  it('re-uses the stored certificate: the same serial, no new order', async () => {
    const httpPort = await freePort();
    const pebble = await env.pebble({ httpPort });
    const name = 'keep.example.com';
    const script = acmeScript(pebble, httpPort, path.join(dir, 'acme'), `names = { "${name}" }`) + ROUTE_ECHO;
    const first = await env.proxy(script);
    await waitLog(first.logs, acmeEvent(name, 'issued'), 30_000, 'issued line');
    const before = await httpsGet({ port: first.tlsPort, servername: name, host: name, ca: pebble.root });
    await first.close();
    expect(pebble.orders()).toBe(1);

    const second = await env.proxy(script);
    const after = await httpsGet({ port: second.tlsPort, servername: name, host: name, ca: pebble.root });
    expect(after.serial).toBe(before.serial);
    // the renewal timer and the static-name check ran at start; give a wrong order time to reach pebble
    await new Promise((r) => setTimeout(r, 500));
    expect(pebble.orders()).toBe(1);
    expect(second.running.config.acmeRuntime!.counts).toMatchObject({ loaded: 1, issued: 0 });
    expect(second.logs.some((l) => l.acme?.event === 'ordering')).toBe(false);
  }, 60_000);
});
