/**
 * A restart loads what the storage holds: a certificate still valid is served again and
 * not ordered again (pebble receives no second order).
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPebble, freePort, pebbleMissing, type Pebble } from './helpers/pebble.js';
import { acmeScript, ROUTE_ECHO, startAcmeProxy, waitLog, acmeEvent } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';
import type { TestProxy } from './helpers/proxy.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: a restart${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let pebble: Pebble | null = null;
  const proxies: TestProxy[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-acme-restart-'));
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await pebble?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('re-uses the stored certificate: the same serial, no new order', async () => {
    const httpPort = await freePort();
    pebble = await startPebble({ httpPort });
    const name = 'keep.example.com';
    const script = acmeScript(pebble, httpPort, path.join(dir, 'acme'), `names = { "${name}" }`) + ROUTE_ECHO;
    const first = await startAcmeProxy(script);
    proxies.push(first);
    await waitLog(first.logs, acmeEvent(name, 'issued'), 30_000, 'issued line');
    const before = await httpsGet({ port: first.tlsPort, servername: name, host: name, ca: pebble.root });
    await first.close();
    expect(pebble.orders()).toBe(1);

    const second = await startAcmeProxy(script);
    proxies.push(second);
    const after = await httpsGet({ port: second.tlsPort, servername: name, host: name, ca: pebble.root });
    expect(after.serial).toBe(before.serial);
    // the renewal timer and the static-name check ran at start; give a wrong order time to reach pebble
    await new Promise((r) => setTimeout(r, 500));
    expect(pebble.orders()).toBe(1);
    expect(second.running.config.acmeRuntime!.counts).toMatchObject({ loaded: 1, issued: 0 });
    expect(second.logs.some((l) => l.acme?.event === 'ordering')).toBe(false);
  }, 60_000);
});
