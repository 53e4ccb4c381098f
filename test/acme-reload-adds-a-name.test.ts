/**
 * A reload hands the new acme settings to the process' orderer, which outlives it: a
 * name added to acme.names is ordered, the names it already holds are not ordered again,
 * and they keep serving through the reload. A storage folder that cannot be made stops
 * the start with LPX_ACME_STORAGE, naming the path.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, pebbleMissing } from './helpers/pebble.js';
import { acmeEnv, acmeScript, ROUTE_ECHO, waitLog, acmeEvent } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';
import { startProxy } from './helpers/proxy.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: a reload${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const env = acmeEnv('reload');
  const dir = env.dir;

  it('orders a name added to acme.names, and only that one', async () => {
    const httpPort = await freePort();
    const pebble = await env.pebble({ httpPort });
    const storage = path.join(dir, 'acme');
    const proxy = await env.proxy(acmeScript(pebble, httpPort, storage, 'names = { "one.example.com" }') + ROUTE_ECHO);
    await waitLog(proxy.logs, acmeEvent('one.example.com', 'issued'), 30_000, 'issued line');
    const before = await httpsGet({ port: proxy.tlsPort, servername: 'one.example.com', host: 'one.example.com', ca: pebble.root });

    // the TLS listener keeps its port across the reload
    proxy.write(acmeScript(pebble, httpPort, storage, 'names = { "one.example.com", "two.example.com" }', proxy.tlsPort) + ROUTE_ECHO);
    const r = await proxy.running.reloader.reload('test');
    expect(r.ok, r.error).toBe(true);
    await waitLog(proxy.logs, acmeEvent('two.example.com', 'issued'), 30_000, 'issued line for the added name');
    expect(pebble.orders()).toBe(2);
    const two = await httpsGet({ port: proxy.tlsPort, servername: 'two.example.com', host: 'two.example.com', ca: pebble.root });
    expect(two.status).toBe(200);
    const one = await httpsGet({ port: proxy.tlsPort, servername: 'one.example.com', host: 'one.example.com', ca: pebble.root });
    expect(one.serial).toBe(before.serial);
  }, 60_000);
});

describe('acme: the storage folder', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-acme-storage-start-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses to start when the storage folder cannot be made', async () => {
    const blocker = path.join(dir, 'not-a-folder');
    fs.writeFileSync(blocker, 'a file where the storage folder should be');
    const src = 'listen = { "127.0.0.1:0", { address = "127.0.0.1:0", tls = true } }\n'
      + `acme = { directory = "https://127.0.0.1:9/dir", storage = ${JSON.stringify(path.join(blocker, 'acme'))} }\nbackends = {}\n${ROUTE_ECHO}`;
    await expect(startProxy(src)).rejects.toMatchObject({ code: 'LPX_ACME_STORAGE', message: expect.stringContaining(blocker) });
  });
});
