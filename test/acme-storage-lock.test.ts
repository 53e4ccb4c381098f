/**
 * The storage folder's lock per name: one holder at a time among processes sharing the
 * folder, released only by its owner, and taken over once its expiry has passed (a
 * holder that died mid-order). Files are written whole (write, then rename) with keys
 * at 0600; pending challenges are found by any instance; a token that is not base64url
 * never becomes a file name.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AcmeStorage, slug } from '../src/acme/storage.js';

describe('AcmeStorage', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-acme-storage-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const mk = () => {
    const s = new AcmeStorage(root, 'https://acme-staging-v02.api.letsencrypt.org/directory');
    s.prepare();
    return s;
  };

  it('keeps one folder per ACME directory', () => {
    expect(slug('https://acme-staging-v02.api.letsencrypt.org/directory')).toBe('acme-staging-v02.api.letsencrypt.org-directory');
    expect(mk().dir).toBe(path.join(root, 'acme-staging-v02.api.letsencrypt.org-directory'));
  });

  it('gives a name\'s lock to one holder until it unlocks or its expiry passes', () => {
    const one = mk();
    const two = mk();
    const now = Date.now();
    expect(one.tryLock('a.example', 'one', 60_000, now)).toBe(true);
    expect(two.tryLock('a.example', 'two', 60_000, now)).toBe(false);
    expect(two.tryLock('b.example', 'two', 60_000, now)).toBe(true); // other names are free
    two.unlock('a.example', 'two'); // not the owner: nothing happens
    expect(two.tryLock('a.example', 'two', 60_000, now + 1000)).toBe(false);
    // its holder died: past the expiry, the lock is taken over
    expect(two.tryLock('a.example', 'two', 60_000, now + 61_000)).toBe(true);
    expect(one.tryLock('a.example', 'one', 60_000, now + 62_000)).toBe(false);
    two.unlock('a.example', 'two');
    expect(one.tryLock('a.example', 'one', 60_000, now + 63_000)).toBe(true);
  });

  it('writes certificates and keys whole, keys at 0600, and lists them', () => {
    const s = mk();
    s.write('c.example', { certPem: 'CERT', keyPem: 'KEY' });
    expect(s.read('c.example')).toEqual({ certPem: 'CERT', keyPem: 'KEY' });
    expect(fs.statSync(s.keyFile('c.example')).mode & 0o777).toBe(0o600);
    expect(s.names()).toContain('c.example');
    expect(fs.readdirSync(path.dirname(s.certFile('c.example'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('shares pending challenges between instances, and never makes a file of a strange token', () => {
    const one = mk();
    const two = mk();
    one.putChallenge('tok_EN-1', 'tok_EN-1.thumb');
    expect(two.challenge('tok_EN-1')).toBe('tok_EN-1.thumb');
    one.removeChallenge('tok_EN-1');
    expect(two.challenge('tok_EN-1')).toBeNull();
    one.putChallenge('../../etc/x', 'nope');
    expect(two.challenge('../../etc/x')).toBeNull();
    expect(fs.existsSync(path.join(one.dir, 'etc'))).toBe(false);
  });
});
