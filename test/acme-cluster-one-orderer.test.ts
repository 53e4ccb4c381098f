/**
 * In cluster mode one process orders for the whole machine: the primary. A static name
 * is ordered once, by the primary, and every worker serves it; a name tls_allow allows,
 * asked for on any worker, is ordered once by the primary (the workers ask it), and
 * every worker serves it from then on. The primary's /status lists both.
 * Runs the built CLI (npm run build).
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPebble, freePort, pebbleMissing, type Pebble } from './helpers/pebble.js';
import { acmeScript, ROUTE_ECHO, defaultCertTable } from './helpers/acme.js';
import { httpsGet } from './helpers/tls.js';
import { startCluster, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';
import { get } from './helpers/http.js';
import { parseMetrics, value } from './helpers/admin.js';

const missing = pebbleMissing();

describe.skipIf(missing !== null)(`acme: a cluster${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let pebble: Pebble | null = null;
  let c: ClusterProc | null = null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-acme-cluster-'));
  afterAll(async () => {
    await c?.close();
    await pebble?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('orders each name once, in the primary, and every worker serves it', async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const [httpPort, tlsPort] = await Promise.all([freePort(), freePort()]);
    pebble = await startPebble({ httpPort });
    const script = acmeScript(pebble, httpPort, path.join(dir, 'acme'), 'names = { "static.example.com" }', tlsPort) + await defaultCertTable(dir)
      + 'function tls_allow(host) return host:find("%.shop%.example$") ~= nil end\n' + ROUTE_ECHO;
    const cluster = await startCluster(script, 2, ['--no-watch', '--admin', '127.0.0.1:0']);
    c = cluster;
    const issued = await cluster.waitFor((l) => l.acme?.name === 'static.example.com' && l.acme?.event === 'issued', 30_000);
    expect(issued.role).toBe('primary');
    const root = pebble.root;

    // new connections spread over the workers: each of them serves it, verified
    const pids = new Set<string>();
    const serials = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await httpsGet({ port: tlsPort, servername: 'static.example.com', host: 'static.example.com', ca: root });
      expect(r.status).toBe(200);
      serials.add(r.serial);
    }
    expect(serials.size).toBe(1);

    // on demand, through whichever worker gets the handshake
    const name = 'a.shop.example';
    const first = await httpsGet({ port: tlsPort, servername: name, host: name, ca: root });
    expect(first.status).toBe(200);
    for (let i = 0; i < 8; i++) {
      const r = await httpsGet({ port: tlsPort, servername: name, host: name, ca: root });
      expect(r.serial).toBe(first.serial);
    }
    expect(pebble.orders()).toBe(2);
    const ordering = cluster.logs.filter((l) => l.acme?.event === 'ordering');
    expect(ordering.map((l) => l.acme.name).sort()).toEqual([name, 'static.example.com']);
    expect(ordering.every((l) => l.role === 'primary' && l.worker === undefined)).toBe(true);
    // both workers answered at least one of those connections
    for (const l of cluster.logs) if (l.msg === 'request' && typeof l.pid === 'number') pids.add(String(l.pid));
    expect(pids.size).toBe(2);

    const adminLine = await cluster.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('admin listening'), 10_000);
    const status = JSON.parse((await get(`http://${String(adminLine.admin)}/status`)).body.toString());
    expect(status.acme.names.map((n: { name: string }) => n.name)).toEqual([name, 'static.example.com']);
    const metrics = parseMetrics((await get(`http://${String(adminLine.admin)}/metrics`)).body.toString());
    expect(value(metrics, 'luaproxy_acme_events_total', { event: 'issued' })).toBe(2);
    expect(metrics.filter((m) => m.name === 'luaproxy_certificate_expiry_seconds').map((m) => m.labels.name).sort()).toEqual([name, 'default.example.com', 'static.example.com']);
  }, 60_000);
});
