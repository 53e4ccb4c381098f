/**
 * CertStore.load refuses, at load, every certificate entry that could not serve a
 * handshake, with an LPX_CONFIG_INVALID whose message starts with the entry's place in the
 * script, names the file as the script gave it, and says what is wrong; a certificate
 * that expires soon loads with a warning. Certificates are made here, at test time.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CertStore, type CertSpec } from '../src/tls/certificates.js';
import { makeCA, makeCert } from '../src/tls/self-signed.js';
import { LpxError } from '../src/core/errors.js';

const DAY = 86_400_000;
const WHERE = 'config.lua:12: tls.certificates[1]';

/** a fresh folder holding `files` (name -> text), removed by the returned function */
function folder(files: Record<string, string>): { dir: string; done: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-tls-load-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return { dir, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** load one entry (cert a.pem, key a.key) from `dir`; the thrown error, or the result */
function loadOne(dir: string, spec: Partial<CertSpec> = {}, opts: { defaultName?: string | null; now?: Date } = {}) {
  const full: CertSpec = { cert: 'a.pem', key: 'a.key', where: WHERE, ...spec };
  return CertStore.load([full], { baseDir: dir, defaultName: opts.defaultName ?? null, now: opts.now, whereDefault: 'config.lua:20: tls.default' });
}

function refusal(f: () => unknown): LpxError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LpxError);
    expect((e as LpxError).code).toBe('LPX_CONFIG_INVALID');
    return e as LpxError;
  }
  throw new Error('expected the load to be refused, and it loaded');
}

describe('CertStore.load checks each certificate entry', () => {
  it('loads a good certificate without warnings and reports every file it read, by absolute path', async () => {
    const c = await makeCert({ names: ['a.example.com'] });
    const f = folder({ 'a.pem': c.cert, 'a.key': c.key });
    try {
      const { store, files, warnings } = loadOne(f.dir);
      expect(warnings).toEqual([]);
      expect([...files.keys()].sort()).toEqual([path.join(f.dir, 'a.key'), path.join(f.dir, 'a.pem')].sort());
      expect(files.get(path.join(f.dir, 'a.pem'))?.toString()).toBe(c.cert);
      expect(store.info().map((i) => i.names)).toEqual([['a.example.com']]);
    } finally {
      f.done();
    }
  });

  it('refuses a key that belongs to another certificate', async () => {
    const [c, other] = await Promise.all([makeCert({ names: ['a.example.com'] }), makeCert({ names: ['a.example.com'] })]);
    const f = folder({ 'a.pem': c.cert, 'a.key': other.key });
    try {
      const e = refusal(() => loadOne(f.dir));
      expect(e.message).toMatch(/^config\.lua:12: tls\.certificates\[1\]\.key: "a\.key" does not match the certificate "a\.pem"/);
    } finally {
      f.done();
    }
  });

  it('refuses an expired certificate, giving the date it expired', async () => {
    const c = await makeCert({ names: ['a.example.com'], notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-06-30T12:00:00Z') });
    const f = folder({ 'a.pem': c.cert, 'a.key': c.key });
    try {
      const e = refusal(() => loadOne(f.dir));
      expect(e.message).toMatch(/^config\.lua:12: tls\.certificates\[1\]\.cert: "a\.pem" expired on 2021-06-30T12:00:00Z/);
    } finally {
      f.done();
    }
  });

  it('refuses a certificate that is not valid yet, giving the date it starts', async () => {
    const from = new Date(Math.floor(Date.now() / 1000) * 1000 + 3 * DAY);
    const c = await makeCert({ names: ['a.example.com'], notBefore: from, notAfter: new Date(from.getTime() + 90 * DAY) });
    const f = folder({ 'a.pem': c.cert, 'a.key': c.key });
    try {
      const e = refusal(() => loadOne(f.dir));
      expect(e.message).toMatch(/^config\.lua:12: tls\.certificates\[1\]\.cert: "a\.pem" is not valid yet: valid from /);
      expect(e.message).toContain(from.toISOString().replace('.000Z', 'Z'));
    } finally {
      f.done();
    }
  });

  it('refuses a missing certificate file, saying it does not exist (ENOENT) and where it looked', async () => {
    const c = await makeCert({ names: ['a.example.com'] });
    const f = folder({ 'a.key': c.key });
    try {
      const e = refusal(() => loadOne(f.dir, { cert: 'certs/missing.pem' }));
      expect(e.message).toMatch(/^config\.lua:12: tls\.certificates\[1\]\.cert: cannot read "certs\/missing\.pem": no such file \(ENOENT, at /);
      expect(e.message).toContain(path.join(f.dir, 'certs', 'missing.pem'));
    } finally {
      f.done();
    }
  });

  it.skipIf(process.getuid?.() === 0)('refuses a key file it may not read, saying permission denied (EACCES) (skipped as root: root reads any file)', async () => {
    const c = await makeCert({ names: ['a.example.com'] });
    const f = folder({ 'a.pem': c.cert, 'a.key': c.key });
    fs.chmodSync(path.join(f.dir, 'a.key'), 0o000);
    try {
      const e = refusal(() => loadOne(f.dir));
      expect(e.message).toMatch(/^config\.lua:12: tls\.certificates\[1\]\.key: cannot read "a\.key": permission denied \(EACCES, at /);
    } finally {
      f.done();
    }
  });

  it('refuses a certificate file that holds no PEM certificate (cert and key swapped)', async () => {
    const c = await makeCert({ names: ['a.example.com'] });
    const f = folder({ 'a.pem': c.cert, 'a.key': c.key });
    try {
      const e = refusal(() => loadOne(f.dir, { cert: 'a.key', key: 'a.pem' }));
      expect(e.message).toMatch(/^config\.lua:12: tls\.certificates\[1\]\.cert: "a\.key" is not a PEM certificate: expected "-----BEGIN CERTIFICATE-----", got "-----BEGIN PRIVATE KEY-----" \(it holds a private key: are cert and key swapped\?\)/);
    } finally {
      f.done();
    }
  });

  it('refuses a key file that holds no private key', async () => {
    const c = await makeCert({ names: ['a.example.com'] });
    const f = folder({ 'a.pem': c.cert, 'a.key': 'not a key\n' });
    try {
      const e = refusal(() => loadOne(f.dir));
      expect(e.message).toMatch(/^config\.lua:12: tls\.certificates\[1\]\.key: "a\.key" is not a PEM private key: expected "-----BEGIN PRIVATE KEY-----", got "not a key"/);
    } finally {
      f.done();
    }
  });

  it('loads a leaf followed by its intermediate, and refuses the same two in the wrong order', async () => {
    const root = await makeCA({ name: 'Test Root' });
    const mid = await makeCA({ ca: root, name: 'Test Intermediate' });
    const leaf = await makeCert({ ca: mid, names: ['a.example.com'] });
    const f = folder({ 'a.pem': `${leaf.cert}\n${mid.cert}\n`, 'wrong.pem': `${mid.cert}\n${leaf.cert}\n`, 'a.key': leaf.key });
    try {
      expect(loadOne(f.dir).store.info()[0].issuer).toBe('CN=Test Intermediate');
      const order = refusal(() => loadOne(f.dir, { cert: 'wrong.pem' }));
      expect(order.message).toMatch(/^config\.lua:12: tls\.certificates\[1\]\.cert: "wrong\.pem": certificate 1 \(CN=Test Intermediate\) is not issued by certificate 2 \(CN=a\.example\.com\)/);
      expect(order.message).toContain('the order looks reversed');
    } finally {
      f.done();
    }
  });

  it('refuses a default name that no certificate serves, listing the names there are', async () => {
    const c = await makeCert({ names: ['a.example.com', '*.b.example.com'] });
    const f = folder({ 'a.pem': c.cert, 'a.key': c.key });
    try {
      const e = refusal(() => loadOne(f.dir, {}, { defaultName: 'c.example.com' }));
      expect(e.message).toBe('config.lua:20: tls.default: expected one of the certificate names (a.example.com, *.b.example.com), got "c.example.com"');
    } finally {
      f.done();
    }
  });

  it('loads a certificate that expires in 10 days, with a warning that says so and when', async () => {
    const now = new Date('2030-03-01T00:00:00Z');
    const notAfter = new Date('2030-03-11T06:00:00Z');
    const c = await makeCert({ names: ['a.example.com'], notBefore: new Date('2030-01-01T00:00:00Z'), notAfter });
    const f = folder({ 'a.pem': c.cert, 'a.key': c.key });
    try {
      const { store, warnings } = loadOne(f.dir, {}, { now });
      expect(warnings).toEqual(['config.lua:12: tls.certificates[1].cert: "a.pem" expires in 10 days (on 2030-03-11T06:00:00Z)']);
      expect(store.info(now)[0]).toMatchObject({ notAfter, daysLeft: 10 });
      // 15 days before, the same certificate loads quietly
      expect(loadOne(f.dir, {}, { now: new Date('2030-02-24T00:00:00Z') }).warnings).toEqual([]);
    } finally {
      f.done();
    }
  });
});
