/**
 * /status lists the certificates of the live config (names, issuer, serial, expiry, file)
 * and /metrics has luaproxy_certificate_expiry_seconds for each, computed at scrape time;
 * a renewed certificate replaces the old one in both after the reload.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { ADMIN_ON_LOOPBACK, has, post, scrape, status, value } from './helpers/admin.js';

const DAY = 86_400_000;
const serialOf = (c: Issued) => new X509Certificate(c.cert).serialNumber;

function writePair(dir: string, base: string, c: Issued): void {
  fs.writeFileSync(path.join(dir, `${base}.pem`), c.chain ?? c.cert);
  fs.writeFileSync(path.join(dir, `${base}.key`), c.key);
}

describe('certificates in /status and /metrics', () => {
  let p: TestProxy;
  let ca: Issued, site: Issued, api: Issued;
  const siteExpiry = new Date(Math.floor((Date.now() + 40 * DAY) / 1000) * 1000);
  beforeAll(async () => {
    ca = await makeCA({ name: 'Status Test CA' });
    [site, api] = await Promise.all([
      makeCert({ ca, names: ['example.com', 'www.example.com'], notAfter: siteExpiry, serial: '0badc0de01' }),
      makeCert({ ca, names: ['api.example.com'] }),
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-certstatus-'));
    writePair(dir, 'site', site);
    writePair(dir, 'api', api);
    p = await startProxy(`${ADMIN_ON_LOOPBACK}listen = { "127.0.0.1:0", { address = "127.0.0.1:0", tls = true } }
tls = { certificates = { { cert = "site.pem", key = "site.key" }, { cert = "api.pem", key = "api.key" } }, default = "example.com" }
backends = {}
function route() return { status = 204 } end
`, { dir });
  });
  afterAll(async () => { await p?.close(); });

  it('/status lists each certificate with its names, issuer, serial, expiry and file', async () => {
    const s = await status(p);
    expect(s.certificates).toHaveLength(2);
    const [first, second] = s.certificates;
    expect(first).toEqual({
      names: ['example.com', 'www.example.com'],
      issuer: 'CN=Status Test CA',
      serial: serialOf(site),
      not_after: siteExpiry.toISOString(),
      days_left: expect.any(Number),
      file: expect.stringMatching(/site\.pem$/),
    });
    expect(first.serial.toLowerCase()).toBe('0badc0de01');
    // made 40 days minus a few seconds before notAfter
    expect(first.days_left).toBe(39);
    expect(second).toMatchObject({ names: ['api.example.com'], serial: serialOf(api), file: expect.stringMatching(/api\.pem$/) });
    expect(second.days_left).toBeGreaterThanOrEqual(364);
  });

  it('/metrics has the seconds until each certificate expires, as of the scrape', async () => {
    const before = Date.now();
    const m = await scrape(p);
    const after = Date.now();
    const secs = value(m, 'luaproxy_certificate_expiry_seconds', { name: 'example.com', serial: serialOf(site) });
    expect(secs).toBeLessThanOrEqual(Math.round((siteExpiry.getTime() - before) / 1000) + 1);
    expect(secs).toBeGreaterThanOrEqual(Math.round((siteExpiry.getTime() - after) / 1000) - 1);
    expect(has(m, 'luaproxy_certificate_expiry_seconds', { name: 'api.example.com', serial: serialOf(api) })).toBe(true);
    // one series per certificate, named by its first DNS name
    expect(m.filter((x) => x.name === 'luaproxy_certificate_expiry_seconds')).toHaveLength(2);
  });

  it('after a renewal and a reload, both show the new certificate and no longer the old one', async () => {
    const renewed = await makeCert({ ca, names: ['example.com', 'www.example.com'] });
    const tmp = path.join(p.dir, '.site.pem.tmp');
    fs.writeFileSync(path.join(p.dir, 'site.key'), renewed.key);
    fs.writeFileSync(tmp, renewed.chain ?? renewed.cert);
    fs.renameSync(tmp, path.join(p.dir, 'site.pem'));
    const r = await post(p, '/reload');
    expect(r.status, r.body.toString()).toBe(200);

    const s = await status(p);
    expect(s.certificates.map((c: { serial: string }) => c.serial)).toEqual([serialOf(renewed), serialOf(api)]);
    const m = await scrape(p);
    expect(has(m, 'luaproxy_certificate_expiry_seconds', { serial: serialOf(site) })).toBe(false);
    expect(value(m, 'luaproxy_certificate_expiry_seconds', { name: 'example.com', serial: serialOf(renewed) })).toBeGreaterThan(364 * 86_400);
  });
});

describe('without a tls table', () => {
  let p: TestProxy;
  beforeAll(async () => { p = await startProxy(`${ADMIN_ON_LOOPBACK}backends = {}\nfunction route() return { status = 204 } end\n`); });
  afterAll(async () => { await p?.close(); });

  it('/status has an empty certificates list and /metrics no certificate series', async () => {
    expect((await status(p)).certificates).toEqual([]);
    expect(has(await scrape(p), 'luaproxy_certificate_expiry_seconds')).toBe(false);
  });
});
