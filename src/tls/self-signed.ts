/**
 * Certificates made at run time, for `luaproxy init --tls`, local development and tests:
 * a CA, and server certificates signed by it or by themselves. It uses @peculiar/x509
 * (TypeScript, maintained, no native code) on node's WebCrypto, so no openssl binary is
 * needed. That library needs a Reflect metadata polyfill, which patches the global
 * `Reflect`; both are loaded on the first call, never by a proxy that only serves
 * certificates. Keys are ECDSA P-256; everything returned is PEM.
 */
import { KeyObject, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

type X509 = typeof import('@peculiar/x509');

let loaded: Promise<X509> | undefined;

/** the library, with its polyfill loaded first and node's WebCrypto as its provider */
function x509(): Promise<X509> {
  loaded ??= (async () => {
    await import('reflect-metadata');
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(globalThis.crypto);
    return lib;
  })();
  return loaded;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Issued {
  /** the PEM certificate */
  cert: string;
  /** its PEM (PKCS#8) private key */
  key: string;
  /** the certificate followed by its issuer's (and that issuer's chain): what a server's cert file holds; absent when self-signed */
  chain?: string;
}

export interface Validity {
  /** default: now minus one minute (tolerates a little clock skew) */
  notBefore?: Date;
  /** default: one year after notBefore for a server certificate, ten years for a CA */
  notAfter?: Date;
  /** hexadecimal serial number; default: 16 random bytes */
  serial?: string;
}

/** a random positive serial: 16 bytes, first byte 0x01..0x7f (DER needs no sign byte) */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

function checkSerial(serial: string): string {
  if (!/^[0-9a-fA-F]+$/.test(serial)) throw new TypeError(`serial: expected hexadecimal digits, got ${JSON.stringify(serial)}`);
  return serial.length % 2 ? `0${serial}` : serial;
}

function dates(v: Validity, years: number): { notBefore: Date; notAfter: Date } {
  const notBefore = v.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const notAfter = v.notAfter ?? new Date(notBefore.getTime() + years * 365 * 86_400_000);
  return { notBefore, notAfter };
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function keyPem(key: CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** the signing key and certificate of an issuer given as PEM */
async function issuer(lib: X509, ca: Issued): Promise<{ cert: InstanceType<X509['X509Certificate']>; key: CryptoKey }> {
  const cert = new lib.X509Certificate(ca.cert);
  const der = lib.PemConverter.decodeFirst(ca.key);
  const key = await crypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
  return { cert, key };
}

/** sign `publicKey` as `subject`, by `ca` or by `keys` itself when there is no ca */
async function sign(lib: X509, subject: string, keys: CryptoKeyPair, ca: Issued | undefined, v: Validity, years: number, extensions: InstanceType<X509['Extension']>[]): Promise<Issued> {
  const { notBefore, notAfter } = dates(v, years);
  const serialNumber = checkSerial(v.serial ?? randomSerial());
  extensions.push(await lib.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (!ca) {
    const cert = await lib.X509CertificateGenerator.createSelfSigned({ name: subject, keys, notBefore, notAfter, serialNumber, signingAlgorithm: ALG, extensions });
    return { cert: cert.toString('pem'), key: keyPem(keys.privateKey) };
  }
  const by = await issuer(lib, ca);
  extensions.push(await lib.AuthorityKeyIdentifierExtension.create(by.cert.publicKey));
  const cert = await lib.X509CertificateGenerator.create({
    subject,
    issuer: by.cert.subject,
    publicKey: keys.publicKey,
    signingKey: by.key,
    notBefore,
    notAfter,
    serialNumber,
    signingAlgorithm: ALG,
    extensions,
  });
  const pem = cert.toString('pem');
  return { cert: pem, key: keyPem(keys.privateKey), chain: `${pem}\n${ca.chain ?? ca.cert}` };
}

/** a CA certificate (self-signed, or an intermediate when `ca` is given) that can sign others */
export async function makeCA(opts: Validity & { name?: string; ca?: Issued } = {}): Promise<Issued> {
  const lib = await x509();
  const ext = [
    new lib.BasicConstraintsExtension(true, undefined, true),
    new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign | lib.KeyUsageFlags.digitalSignature, true),
  ];
  return sign(lib, `CN=${opts.name ?? 'luaproxy development CA'}`, await newKeys(), opts.ca, opts, 10, ext);
}

/** a server certificate for `names` (DNS names, `*.example.com` allowed, or IP addresses), signed by `ca` or self-signed */
export async function makeCert(opts: Validity & { ca?: Issued; names: string[] }): Promise<Issued> {
  if (opts.names.length === 0) throw new TypeError('names: expected at least one DNS name, got none');
  const lib = await x509();
  const ext = [
    new lib.BasicConstraintsExtension(false, undefined, true),
    new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
    // client auth too, so a test can present one as a client certificate (etcd with --client-cert-auth)
    new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth, lib.ExtendedKeyUsage.clientAuth]),
    // an IP address (a test server reached as 127.0.0.1) is an IP entry, anything else a DNS name
    new lib.SubjectAlternativeNameExtension(opts.names.map((value) => ({ type: isIP(value) ? 'ip' as const : 'dns' as const, value }))),
  ];
  return sign(lib, `CN=${opts.names[0]}`, await newKeys(), opts.ca, opts, 1, ext);
}
