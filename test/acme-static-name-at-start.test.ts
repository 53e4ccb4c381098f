/**
 * A name in acme.names is obtained at start from a real ACME server (pebble, which
 * really fetches the HTTP-01 token from luaproxy's plain listener), stored with its key
 * at mode 0600, served on the TLS listener, and verified by curl against pebble's root.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, pebbleMissing } from './helpers/pebble.js';
import { acmeEnv, acmeScript, ROUTE_ECHO, waitLog, acmeEvent, curlVerified } from './helpers/acme.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: a static name at start${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const env = acmeEnv('static');
  const dir = env.dir;

  it('is ordered at start, answered over HTTP-01, stored (key 0600) and served; curl verifies it against pebble\'s root', async () => {
    const httpPort = await freePort();
    const pebble = await env.pebble({ httpPort });
    const storage = path.join(dir, 'acme');
    const proxy = await env.proxy(acmeScript(pebble, httpPort, storage, 'names = { "static.example.com" }') + ROUTE_ECHO);
    const issued = await waitLog(proxy.logs, acmeEvent('static.example.com', 'issued'), 30_000, 'issued line');
    expect(issued.acme.serial).toMatch(/^[0-9A-F]+$/i);
    expect(pebble.orders()).toBe(1);
    // pebble fetched the token from the plain listener, before route() (which answers everything else with an echo)
    expect(pebble.log()).toContain(`Attempting to validate w/ HTTP: http://static.example.com:${httpPort}/.well-known/acme-challenge/`);
    const answered = proxy.logs.filter((l) => l.msg === 'request' && String(l.path).startsWith('/.well-known/acme-challenge/'));
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((l) => l.status === 200 && l.route === 'respond' && l.host === 'static.example.com')).toBe(true);

    const r = await curlVerified(proxy.tlsPort, 'static.example.com', pebble.root, dir);
    expect(r.err).toBe('');
    expect(r.out).toBe('https static.example.com /hello\n200 0');

    const stored = fs.readdirSync(storage);
    expect(stored).toHaveLength(1); // one folder for this ACME directory
    const certs = path.join(storage, stored[0], 'certificates');
    expect(fs.statSync(path.join(certs, 'static.example.com.key')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(storage, stored[0], 'account.key')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(certs, 'static.example.com.crt'), 'utf8')).toMatch(/BEGIN CERTIFICATE/);
    // no challenge left behind
    expect(fs.readdirSync(path.join(storage, stored[0], 'challenges'))).toEqual([]);
  }, 60_000);
});
