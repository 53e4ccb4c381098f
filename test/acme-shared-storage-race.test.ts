/**
 * Two luaproxy processes share one acme.storage folder (as instances on NFS do) and get
 * handshakes for the same new name at the same moment: one order reaches the ACME server,
 * and both serve the same certificate. The instance that does not order waits on the
 * name's lock and loads what the other stored; a challenge is answered by whichever
 * instance the ACME server reaches (pebble validates on one instance's port only), from
 * the storage. One instance runs in this process, the other is the built CLI.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPebble, freePort, pebbleMissing, type Pebble } from './helpers/pebble.js';
import { acmeScript, ROUTE_ECHO, startAcmeProxy, defaultCertTable } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';
import { BIN, builtBinaryExists } from './helpers/cluster.js';
import type { TestProxy } from './helpers/proxy.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: two instances sharing the storage${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let pebble: Pebble | null = null;
  let a: (TestProxy & { tlsPort: number }) | null = null;
  let b: ChildProcess | null = null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-acme-race-'));
  afterAll(async () => {
    if (b && b.exitCode === null) {
      const gone = new Promise((r) => b!.once('exit', r));
      process.kill(b.pid!, 'SIGTERM');
      await gone;
    }
    await a?.close();
    await pebble?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('place one order for a name both are asked for, and both serve its certificate', async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const httpA = await freePort();
    const [httpB, tlsB] = await Promise.all([freePort(), freePort()]);
    pebble = await startPebble({ httpPort: httpA });
    const storage = path.join(dir, 'acme');
    const tail = await defaultCertTable(dir) + 'function tls_allow(host) return host:find("%.race%.example$") ~= nil end\n' + ROUTE_ECHO;
    a = await startAcmeProxy(acmeScript(pebble, httpA, storage) + tail);
    const fileB = path.join(dir, 'b.lua');
    fs.writeFileSync(fileB, acmeScript(pebble, httpB, storage, '', tlsB) + tail);
    b = spawn(process.execPath, [BIN, 'run', fileB, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let outB = '';
    b.stdout!.on('data', (d) => { outB += d; });
    b.stderr!.on('data', (d) => { outB += d; });
    for (let i = 0; i < 100 && !outB.includes('luaproxy listening'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(outB).toContain('luaproxy listening');

    const name = 'shop.race.example';
    const root = pebble.root;
    // B first by a hair: it most likely takes the lock, and pebble (validating on A's port) is answered by A from the storage
    const fromB = httpsGet({ port: tlsB, servername: name, host: name, ca: root });
    await new Promise((r) => setTimeout(r, 20));
    const fromA = httpsGet({ port: a.tlsPort, servername: name, host: name, ca: root });
    const [rb, ra] = await Promise.all([fromB, fromA]);
    expect(ra.status).toBe(200);
    expect(rb.status).toBe(200);
    expect(ra.serial).toBe(rb.serial);
    expect(pebble.orders()).toBe(1);
    // one of them ordered; the other loaded it from the storage
    const orderedByA = a.logs.some((l) => l.acme?.event === 'ordering');
    const orderedByB = outB.includes('"event":"ordering"');
    expect([orderedByA, orderedByB].filter(Boolean)).toHaveLength(1);
    // a later handshake on either places no new order
    expect((await httpsGet({ port: tlsB, servername: name, host: name, ca: root })).serial).toBe(ra.serial);
    expect(pebble.orders()).toBe(1);
  }, 60_000);
});
