/**
 * A certificate is renewed when acme.renew_before says so: a short certificate lifetime
 * (pebble's certificateValidityPeriod) and a renew_before just under it make the renewal
 * come seconds after issuance. New connections get the new serial, and no request fails
 * meanwhile under keep-alive load (open connections keep the certificate they started with).
 */
import { describe, it, expect } from 'vitest';
import https from 'node:https';
import path from 'node:path';
import { freePort, pebbleMissing } from './helpers/pebble.js';
import { acmeEnv, acmeScript, ROUTE_ECHO, waitLog, acmeEvent } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';

const missing = pebbleMissing();

function get(agent: https.Agent, port: number, name: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, servername: name, ca, agent, headers: { host: name }, path: '/load', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

describe.skipIf(missing !== null)(`acme: renewal${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const env = acmeEnv('renew');
  const dir = env.dir;

  it('serves a new serial after renew_before, with no failed request under keep-alive load', async () => {
    const httpPort = await freePort();
    // certificates valid for an hour, renewed when 3597 s are left: 3 s after issuance
    const pebble = await env.pebble({ httpPort, validity: 3600 });
    const name = 'renew.example.com';
    const proxy = await env.proxy(acmeScript(pebble, httpPort, path.join(dir, 'acme'), `names = { "${name}" }, renew_before = 3597`) + ROUTE_ECHO);
    await waitLog(proxy.logs, acmeEvent(name, 'issued'), 30_000, 'issued line');
    const root = pebble.root;
    const first = (await httpsGet({ port: proxy.tlsPort, servername: name, host: name, ca: root })).serial;

    let stop = false;
    const failures: string[] = [];
    let ok = 0;
    const agents = Array.from({ length: 3 }, () => new https.Agent({ keepAlive: true, maxSockets: 1 }));
    const loops = agents.map(async (agent) => {
      for (let i = 0; i < 100_000 && !stop; i++) {
        try {
          const s = await get(agent, proxy.tlsPort, name, root);
          if (s === 200) ok++; else failures.push(`status ${s}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    });
    // new connections see the renewal
    let renewed = first;
    const deadline = Date.now() + 20_000;
    for (let i = 0; i < 200 && renewed === first && Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, 100));
      renewed = (await httpsGet({ port: proxy.tlsPort, servername: name, host: name, ca: root })).serial;
    }
    await new Promise((r) => setTimeout(r, 300)); // keep-alive traffic across the switch
    stop = true;
    await Promise.all(loops);
    for (const a of agents) a.destroy();

    expect(renewed).not.toBe(first);
    expect(proxy.logs.some((l) => l.acme?.name === name && l.acme?.event === 'renewed')).toBe(true);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(10);
    expect(pebble.orders()).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
