/**
 * The ACME server goes down: the certificates already obtained keep serving (also after
 * a restart, from the storage); a name being obtained on demand fails cleanly (its
 * handshake gets the default certificate, the failure is one log line with
 * LPX_ACME_ORDER and a count) and backs off: handshakes within the backoff place no
 * order. Once the backoff has passed and the server is back, the name is obtained
 * (the orderer on its own with a clock the test moves on, answering HTTP-01 through a
 * plain server of the test).
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { startPebble, freePort, pebbleMissing, type Pebble } from './helpers/pebble.js';
import { acmeScript, ROUTE_ECHO, startAcmeProxy, waitLog, acmeEvent, defaultCertTable } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';
import type { TestProxy } from './helpers/proxy.js';
import { AcmeManager } from '../src/acme/manager.js';
import { createLogger } from '../src/core/logger.js';
import { Writable } from 'node:stream';
import type { AcmeConfig } from '../src/config/acme.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: the ACME server is down${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let pebble: Pebble | null = null;
  const proxies: TestProxy[] = [];
  let plain: http.Server | null = null;
  let manager: AcmeManager | null = null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-acme-down-'));
  afterAll(async () => {
    manager?.stop();
    for (const p of proxies) await p.close();
    plain?.close();
    await pebble?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps serving stored certificates; an on-demand name fails cleanly and backs off', async () => {
    const httpPort = await freePort();
    pebble = await startPebble({ httpPort });
    const script = acmeScript(pebble, httpPort, path.join(dir, 'acme'), 'names = { "up.example.com" }') + await defaultCertTable(dir)
      + 'function tls_allow(host) return host:find("%.example%.net$") ~= nil end\n' + ROUTE_ECHO;
    const first = await startAcmeProxy(script);
    proxies.push(first);
    await waitLog(first.logs, acmeEvent('up.example.com', 'issued'), 30_000, 'issued line');
    const root = pebble.root;
    const served = (await httpsGet({ port: first.tlsPort, servername: 'up.example.com', host: 'up.example.com', ca: root })).serial;

    await pebble.stopAcme();
    const defaultSerial = new X509Certificate(fs.readFileSync(path.join(dir, 'default.pem'))).serialNumber;
    const defaultPem = fs.readFileSync(path.join(dir, 'default.pem'), 'utf8');
    const t0 = Date.now();
    const down = await httpsGet({ port: first.tlsPort, servername: 'new.example.net', host: 'new.example.net', ca: defaultPem, check: false });
    expect(down.serial).toBe(defaultSerial);
    expect(Date.now() - t0).toBeLessThan(10_000); // before acme.wait: the order failed, the handshake did not just time out
    const failed = await waitLog(first.logs, acmeEvent('new.example.net', 'failed'), 10_000, 'failed line');
    expect(failed.acme).toMatchObject({ code: 'LPX_ACME_ORDER', retry_in_s: 60 });
    expect(failed.msg).toMatch(/new\.example\.net.*cannot reach the ACME server .*ECONNREFUSED/);

    // within the backoff: no new order is tried
    const orderingLines = () => first.logs.filter((l) => l.acme?.event === 'ordering' && l.acme?.name === 'new.example.net').length;
    expect(orderingLines()).toBe(1);
    await httpsGet({ port: first.tlsPort, servername: 'new.example.net', host: 'new.example.net', ca: defaultPem, check: false });
    expect(orderingLines()).toBe(1);
    const status = first.running.config.acmeRuntime!.status().find((s) => s.name === 'new.example.net')!;
    expect(String(status.last_error)).toMatch(/no order|failed/);
    expect(status.retry_after).not.toBeNull();
    expect(first.running.config.acmeRuntime!.counts.failed).toBe(1);

    // the stored certificate keeps serving, here and after a restart
    expect((await httpsGet({ port: first.tlsPort, servername: 'up.example.com', host: 'up.example.com', ca: root })).serial).toBe(served);
    await first.close();
    const second = await startAcmeProxy(script);
    proxies.push(second);
    expect((await httpsGet({ port: second.tlsPort, servername: 'up.example.com', host: 'up.example.com', ca: root })).serial).toBe(served);
  }, 60_000);

  it('retries a failed name once its backoff has passed, and gets it when the server is back', async () => {
    const httpPort = await freePort();
    await pebble?.close();
    pebble = await startPebble({ httpPort });
    await pebble.stopAcme();
    let now = Date.now();
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: new Writable({ write(c, _e, cb) { lines.push(c.toString()); cb(); } }) });
    manager = new AcmeManager({ log, now: () => now });
    const m = manager;
    plain = http.createServer((req, res) => {
      const token = req.url!.split('/').pop()!;
      const ka = m.challenge(token);
      res.statusCode = ka ? 200 : 404;
      res.end(ka ?? '');
    });
    await new Promise<void>((r) => plain!.listen(httpPort, '127.0.0.1', r));
    const cfg: AcmeConfig = {
      directory: pebble.directory, email: null, storage: path.join(dir, 'acme-2'), ca: fs.readFileSync(pebble.caFile), names: [],
      renewBefore: 0, challenge: 'http-01', keyType: 'ecdsa-p256', wait: 10, ordersInFlight: 4, ordersPerHour: 60,
    };
    m.configure(cfg, () => true);
    expect(await m.obtain('later.example.net')).toBeNull();
    expect(m.counts.failed).toBe(1);
    await pebble.restart();
    // the server is back, but the backoff has not passed: no order
    expect(await m.obtain('later.example.net')).toBeNull();
    expect(m.counts).toMatchObject({ failed: 1, limited: 1, issued: 0 });
    now += 61_000;
    const got = await m.obtain('later.example.net');
    expect(got, lines.join('')).not.toBeNull();
    expect(m.counts.issued).toBe(1);
    expect(m.context('later.example.net')).not.toBeNull();
  }, 60_000);
});
