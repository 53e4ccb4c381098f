/**
 * Reading and checking one certificate entry of the script (`{ cert = ..., key = ... }`)
 * before anything listens with it: a missing file, a key of another certificate, an
 * expired certificate or a chain in the wrong order is refused at load, naming the entry
 * and the file, instead of surfacing later as a handshake failure that clients report
 * without detail. Node's own X509Certificate does the parsing; nothing here reads ASN.1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { LpxError } from '../core/errors.js';
import { dnsNames } from './server-names.js';

export interface CertSpec {
  /** path of a PEM file: the certificate, optionally followed by its intermediates (each issued by the next) */
  cert: string;
  /** path of the PEM private key of the certificate (unencrypted) */
  key: string;
  /** prefix for errors about this entry, e.g. 'config.lua:12: tls.certificates[2]' */
  where: string;
}

/** one entry, read and checked */
export interface CheckedEntry {
  spec: CertSpec;
  certPath: string;
  keyPath: string;
  certPem: Buffer;
  keyPem: Buffer;
  /** the certificate file's certificates, leaf first */
  chain: X509Certificate[];
  /** the leaf's DNS names, lower case, in certificate order, without repeats */
  names: string[];
  warnings: string[];
}

const DAY = 86_400_000;

/** what a failed read is called in a message */
export function readProblem(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder';
    default:
      return 'unreadable';
  }
}

function readFile(where: string, field: 'cert' | 'key', given: string, abs: string): Buffer {
  try {
    return fs.readFileSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LpxError('LPX_CONFIG_INVALID', `${where}.${field}: cannot read "${given}": ${readProblem(code)} (${code ?? String(e)}, at ${abs})`, { cause: e });
  }
}

/** the start of a file that is not what it should be, printable and short */
export function glimpse(bytes: Buffer): string {
  if (bytes.length === 0) return 'an empty file';
  const line = bytes.subarray(0, 60).toString('latin1').split(/\r?\n/)[0].replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(line);
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

/** node 20's X509Certificate gives dates as OpenSSL text (`Dec  2 05:29:48 2027 GMT`) */
export function certDate(text: string): Date {
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new Error(`unparsable certificate date ${JSON.stringify(text)}`);
  return d;
}

/** `CN=a, O=b` from node's one-line-per-attribute form */
export function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

function parseChain(spec: CertSpec, pem: Buffer): X509Certificate[] {
  const text = pem.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    const hint = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? ' (it holds a private key: are cert and key swapped?)' : '';
    throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.cert: "${spec.cert}" is not a PEM certificate: expected "-----BEGIN CERTIFICATE-----", got ${glimpse(pem)}${hint}`);
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.cert: "${spec.cert}": certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate (${(e as Error).message})`, { cause: e });
    }
  });
}

function parseKey(spec: CertSpec, pem: Buffer): KeyObject {
  const text = pem.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.key: "${spec.key}" is an encrypted private key: expected an unencrypted PEM key (a passphrase is not supported)`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    const hint = text.includes('-----BEGIN CERTIFICATE-----') ? ' (it holds a certificate: are cert and key swapped?)' : '';
    throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.key: "${spec.key}" is not a PEM private key: expected "-----BEGIN PRIVATE KEY-----", got ${glimpse(pem)}${hint}`);
  }
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.key: "${spec.key}" is not a valid private key (${(e as Error).message})`, { cause: e });
  }
}

/** refuse a chain whose certificates are not each issued (name and signature) by the next one */
function checkOrder(spec: CertSpec, chain: X509Certificate[]): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    const [child, parent] = [chain[i], chain[i + 1]];
    if (child.checkIssued(parent) && child.verify(parent.publicKey)) continue;
    const reversed = parent.checkIssued(child) ? `; certificate ${i + 2} is issued by certificate ${i + 1}, so the order looks reversed` : '';
    throw new LpxError(
      'LPX_CONFIG_INVALID',
      `${spec.where}.cert: "${spec.cert}": certificate ${i + 1} (${oneLine(child.subject)}) is not issued by certificate ${i + 2} (${oneLine(parent.subject)}): expected the server certificate first, then each intermediate followed by the one that issued it${reversed}`,
    );
  }
}

/** refuse an expired or not yet valid certificate; a warning when one expires within `warnDays` */
function checkDates(spec: CertSpec, chain: X509Certificate[], now: Date, warnDays: number, warnings: string[]): void {
  chain.forEach((c, i) => {
    const which = chain.length === 1 ? `"${spec.cert}"` : `"${spec.cert}" (certificate ${i + 1} of ${chain.length}, ${oneLine(c.subject)})`;
    const from = certDate(c.validFrom);
    const to = certDate(c.validTo);
    if (to.getTime() <= now.getTime()) {
      throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.cert: ${which} expired on ${iso(to)}: expected a certificate valid now (${iso(now)})`);
    }
    if (from.getTime() > now.getTime()) {
      throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.cert: ${which} is not valid yet: valid from ${iso(from)}, now is ${iso(now)}`);
    }
    const days = Math.floor((to.getTime() - now.getTime()) / DAY);
    if (days < warnDays) warnings.push(`${spec.where}.cert: ${which} expires in ${days} day${days === 1 ? '' : 's'} (on ${iso(to)})`);
  });
}

/** read and check one entry; throws LpxError('LPX_CONFIG_INVALID') naming `spec.where` and the file */
export function readEntry(spec: CertSpec, opts: { baseDir: string; now: Date; warnDays: number }): CheckedEntry {
  const certPath = path.resolve(opts.baseDir, spec.cert);
  const keyPath = path.resolve(opts.baseDir, spec.key);
  const certPem = readFile(spec.where, 'cert', spec.cert, certPath);
  const keyPem = readFile(spec.where, 'key', spec.key, keyPath);
  const chain = parseChain(spec, certPem);
  // the order first: with a reversed chain the key would not match the first certificate either
  checkOrder(spec, chain);
  const key = parseKey(spec, keyPem);
  if (!chain[0].checkPrivateKey(key)) {
    throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.key: "${spec.key}" does not match the certificate "${spec.cert}" (${oneLine(chain[0].subject)}): expected the private key of that certificate, got a key of another one`);
  }
  const warnings: string[] = [];
  checkDates(spec, chain, opts.now, opts.warnDays, warnings);
  const names = [...new Set(dnsNames(chain[0].subjectAltName))];
  if (names.length === 0) {
    throw new LpxError('LPX_CONFIG_INVALID', `${spec.where}.cert: "${spec.cert}" names no host: expected DNS names in its subjectAltName, got ${chain[0].subjectAltName ? JSON.stringify(chain[0].subjectAltName) : 'none'} (the subject CN is not used)`);
  }
  return { spec, certPath, keyPath, certPem, keyPem, chain, names, warnings };
}
