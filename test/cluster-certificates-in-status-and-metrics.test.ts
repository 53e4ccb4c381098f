/**
 * In cluster mode the primary's /status and /metrics show the certificates once, from the
 * primary's own config: not summed over the workers, not repeated per worker.
 * Runs the built CLI (npm run build).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { makeCert, type Issued } from '../src/tls/self-signed.js';
import { get } from './helpers/http.js';
import { parseMetrics } from './helpers/admin.js';
import { startCluster, builtBinaryExists, type ClusterProc } from './helpers/cluster.js';

describe('a cluster with a TLS listener', () => {
  let c: ClusterProc, admin: string, cert: Issued, certDir: string;
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    cert = await makeCert({ names: ['localhost'] });
    certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-cluster-certs-'));
    fs.writeFileSync(path.join(certDir, 'localhost.pem'), cert.cert);
    fs.writeFileSync(path.join(certDir, 'localhost.key'), cert.key);
    const script = `listen = { "127.0.0.1:0", { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = ${JSON.stringify(path.join(certDir, 'localhost.pem'))}, key = ${JSON.stringify(path.join(certDir, 'localhost.key'))} } } }
backends = {}
function route() return { status = 204 } end
`;
    c = await startCluster(script, 2, ['--no-watch', '--admin', '127.0.0.1:0']);
    const line = await c.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('admin listening'), 10_000);
    admin = `http://${String(line.admin)}`;
  });
  afterAll(async () => {
    await c?.close();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('/status lists the certificate once, from the primary\'s config', async () => {
    const r = await get(`${admin}/status`);
    expect(r.status).toBe(200);
    const s = JSON.parse(r.body.toString());
    expect(s.cluster).toBe(true);
    expect(s.certificates).toEqual([expect.objectContaining({ names: ['localhost'], serial: new X509Certificate(cert.cert).serialNumber, days_left: 364 })]);
  });

  it('/metrics has one expiry series for it, not the sum of the workers\' copies', async () => {
    const r = await get(`${admin}/metrics`);
    expect(r.status).toBe(200);
    const series = parseMetrics(r.body.toString()).filter((m) => m.name === 'luaproxy_certificate_expiry_seconds');
    expect(series).toHaveLength(1);
    expect(series[0].labels).toEqual({ name: 'localhost', serial: new X509Certificate(cert.cert).serialNumber });
    const expected = (new Date(new X509Certificate(cert.cert).validTo).getTime() - Date.now()) / 1000;
    expect(Math.abs(series[0].value - expected)).toBeLessThan(10);
  });
});
