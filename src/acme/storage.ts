/**
 * The ACME storage folder, which several processes (cluster workers, instances on NFS)
 * may share. Each ACME directory gets a subfolder (staging certificates never serve
 * once production is configured), holding the account key, one certificate and key per
 * name, the pending HTTP-01 challenges (so any instance can answer a challenge another
 * one ordered) and per-name lock files with an expiry (so sharing instances place one
 * order per name, as Caddy and certbot do). Every file is written to a temporary name
 * and renamed into place, so a reader sees the old file or the new one, never half;
 * private keys are mode 0600.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { LpxError } from '../core/errors.js';

export interface StoredPair {
  certPem: string;
  keyPem: string;
}

/** a token as ACME servers make them (base64url); anything else is never a file name */
const TOKEN_RE = /^[A-Za-z0-9_-]{1,200}$/;

export class AcmeStorage {
  /** the folder of this ACME directory */
  readonly dir: string;

  constructor(root: string, directoryUrl: string) {
    this.dir = path.join(root, slug(directoryUrl));
  }

  /** create the folders (0700); throws LPX_ACME_STORAGE */
  prepare(): void {
    for (const sub of ['', 'certificates', 'challenges', 'locks']) {
      try {
        fs.mkdirSync(path.join(this.dir, sub), { recursive: true, mode: 0o700 });
      } catch (e) {
        throw storageError('create', path.join(this.dir, sub), e);
      }
    }
  }

  /** the account key, made and stored (0600) on first use; two processes that race keep the first one written */
  async accountKey(create: () => Promise<Buffer>): Promise<Buffer> {
    const file = path.join(this.dir, 'account.key');
    const existing = readOrNull(file);
    if (existing !== null) return existing;
    const key = await create();
    try {
      // exclusive: a second process racing here reads the winner's key instead
      const tmp = tmpName(file);
      fs.writeFileSync(tmp, key, { mode: 0o600 });
      try {
        fs.linkSync(tmp, file);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw storageError('write', file, e);
    }
    return readOrNull(file) ?? key;
  }

  /** the stored certificate and key of `name`, or null */
  read(name: string): StoredPair | null {
    const certPem = readOrNull(this.certFile(name));
    const keyPem = readOrNull(this.keyFile(name));
    return certPem && keyPem ? { certPem: certPem.toString('utf8'), keyPem: keyPem.toString('utf8') } : null;
  }

  /** every name with a stored certificate */
  names(): string[] {
    try {
      return fs.readdirSync(path.join(this.dir, 'certificates')).filter((f) => f.endsWith('.crt')).map((f) => f.slice(0, -4));
    } catch {
      return [];
    }
  }

  /** store a certificate and its key: the key first (0600), then the certificate, each by rename */
  write(name: string, pair: StoredPair): void {
    atomicWrite(this.keyFile(name), pair.keyPem, 0o600);
    atomicWrite(this.certFile(name), pair.certPem, 0o644);
  }

  /** publish a pending challenge so that any instance sharing the storage can answer it */
  putChallenge(token: string, keyAuthorization: string): void {
    if (TOKEN_RE.test(token)) atomicWrite(path.join(this.dir, 'challenges', token), keyAuthorization, 0o644);
  }

  removeChallenge(token: string): void {
    if (TOKEN_RE.test(token)) fs.rmSync(path.join(this.dir, 'challenges', token), { force: true });
  }

  /** a challenge another instance published, or null (a small local read, only for a request to the challenge path) */
  challenge(token: string): string | null {
    if (!TOKEN_RE.test(token)) return null;
    return readOrNull(path.join(this.dir, 'challenges', token))?.toString('utf8') ?? null;
  }

  /**
   * Take the lock of `name` for `ttlMs`: true when this process holds it now. A lock
   * whose expiry passed (its holder died mid-order) is taken over.
   */
  tryLock(name: string, owner: string, ttlMs: number, now = Date.now()): boolean {
    const file = this.lockFile(name);
    const body = JSON.stringify({ owner, pid: process.pid, expires: new Date(now + ttlMs).toISOString() });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, body, { flag: 'wx', mode: 0o644 });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw storageError('write', file, e);
      }
      const held = readOrNull(file);
      let expires = 0;
      try {
        expires = Date.parse((JSON.parse(held?.toString('utf8') ?? '{}') as { expires?: string }).expires ?? '') || 0;
      } catch { /* a lock being written, or garbage: treated as held until it can be read */ }
      if (held === null) continue; // released meanwhile: try again
      if (expires === 0 || expires > now) return false;
      // expired: take it over by renaming ours over it (atomic); a racer doing the same wins or loses as a whole
      const tmp = tmpName(file);
      fs.writeFileSync(tmp, body, { mode: 0o644 });
      fs.renameSync(tmp, file);
      return readOrNull(file)?.toString('utf8') === body;
    }
    return false;
  }

  unlock(name: string, owner: string): void {
    const file = this.lockFile(name);
    const held = readOrNull(file)?.toString('utf8');
    if (held && held.includes(`"owner":${JSON.stringify(owner)}`)) fs.rmSync(file, { force: true });
  }

  certFile(name: string): string {
    return path.join(this.dir, 'certificates', `${name}.crt`);
  }

  keyFile(name: string): string {
    return path.join(this.dir, 'certificates', `${name}.key`);
  }

  private lockFile(name: string): string {
    return path.join(this.dir, 'locks', `${name}.lock`);
  }
}

/** `acme-v02.api.letsencrypt.org-directory`: one folder per ACME directory, readable by a person */
export function slug(url: string): string {
  const u = url.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
  return u.length > 100 ? `${u.slice(0, 80)}-${crypto.createHash('sha256').update(url).digest('hex').slice(0, 12)}` : u;
}

function tmpName(file: string): string {
  return `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
}

/** write then rename, so that a reader never sees half a file */
export function atomicWrite(file: string, data: string | Buffer, mode: number): void {
  const tmp = tmpName(file);
  try {
    fs.writeFileSync(tmp, data, { mode });
    fs.chmodSync(tmp, mode); // the umask may have taken bits away from a public file; never adds any to a key
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw storageError('write', file, e);
  }
}

function readOrNull(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageError('read', file, e);
  }
}

function storageError(what: string, file: string, e: unknown): LpxError {
  const code = (e as NodeJS.ErrnoException).code ?? String(e);
  return new LpxError('LPX_ACME_STORAGE', `acme.storage: cannot ${what} ${file} (${code})`, { cause: e });
}
