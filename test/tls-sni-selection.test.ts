/**
 * Which certificate CertStore.select gives a client, by the name it sent (SNI): the exact
 * name, then the one-label wildcard (`*.b.example.com` serves `x.b.example.com`, never
 * `b.example.com` nor `y.x.b.example.com`), then the default; null when there is no
 * default. The last tests do real handshakes and check the serial the client saw.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { CertStore } from '../src/tls/certificates.js';
import { makeCA, makeCert, type Issued } from '../src/tls/self-signed.js';

/** a CA, and three certificates it signed: exact (serial A1), wildcard (B2) and default (DD); the store of them */
async function setup(defaultName: string | null): Promise<{ ca: Issued; store: CertStore; done: () => void }> {
  const ca = await makeCA();
  const [exact, wild, dflt, dup] = await Promise.all([
    makeCert({ ca, names: ['a.example.com'], serial: 'a1' }),
    makeCert({ ca, names: ['*.b.example.com'], serial: 'b2' }),
    makeCert({ ca, names: ['default.example.com'], serial: 'dd' }),
    // a later certificate naming a.example.com again: the first entry keeps it
    makeCert({ ca, names: ['A.example.com', 'e.example.com'], serial: 'e5' }),
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-tls-sni-'));
  const specs = Object.entries({ exact, wild, dflt, dup }).map(([name, c], i) => {
    fs.writeFileSync(path.join(dir, `${name}.pem`), c.cert);
    fs.writeFileSync(path.join(dir, `${name}.key`), c.key);
    return { cert: `${name}.pem`, key: `${name}.key`, where: `config.lua:3: tls.certificates[${i + 1}]` };
  });
  const { store } = CertStore.load(specs, { baseDir: dir, defaultName });
  return { ca, store, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A TLS listener as luaproxy's: a client that sends no name gets select(null) (node calls
 * SNICallback only for a client that sends one), others get select(name), and a name that
 * nothing serves fails the handshake.
 */
async function listen(store: CertStore): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    const t = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: store.select(null) ?? tls.createSecureContext({}),
      SNICallback: (name, cb) => {
        const ctx = store.select(name);
        if (ctx) cb(null, ctx);
        else cb(new Error(`no certificate for ${name}`), undefined);
      },
    });
    t.on('error', () => raw.destroy());
    t.on('secure', () => t.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** the serial of the certificate the server showed a client sending `servername` (none when undefined), verified against `ca` */
function serialSeen(port: number, servername: string | undefined, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // no servername and an IP host: node sends no SNI; the identity is checked by the serial instead
    const c = tls.connect({ host: '127.0.0.1', port, servername, ca, checkServerIdentity: () => undefined }, () => {
      const serial = c.getPeerCertificate().serialNumber;
      c.destroy();
      resolve(serial);
    });
    c.on('error', reject);
  });
}

describe('CertStore.select', () => {
  it('gives the certificate that names the host exactly, in any case, with or without a trailing dot', async () => {
    const { store, done } = await setup('default.example.com');
    try {
      const a = store.byName('a.example.com');
      expect(a).not.toBeNull();
      expect(store.select('a.example.com')).toBe(a);
      expect(store.select('A.Example.COM')).toBe(a);
      expect(store.select('a.example.com.')).toBe(a);
      expect(a).not.toBe(store.byName('default.example.com'));
    } finally {
      done();
    }
  });

  it('gives the one-label wildcard to x.b.example.com, and the default to b.example.com and y.x.b.example.com', async () => {
    const { store, done } = await setup('default.example.com');
    try {
      const wild = store.byName('*.b.example.com');
      const dflt = store.byName('default.example.com');
      expect(wild).not.toBeNull();
      expect(store.select('x.b.example.com')).toBe(wild);
      expect(store.select('b.example.com')).toBe(dflt);
      expect(store.select('y.x.b.example.com')).toBe(dflt);
    } finally {
      done();
    }
  });

  it('gives the default to an unknown name and to a client that sent none', async () => {
    const { store, done } = await setup('default.example.com');
    try {
      const dflt = store.byName('default.example.com');
      expect(dflt).not.toBeNull();
      expect(store.select('unknown.example.org')).toBe(dflt);
      expect(store.select(null)).toBe(dflt);
      expect(store.select(undefined)).toBe(dflt);
      expect(store.select('')).toBe(dflt);
    } finally {
      done();
    }
  });

  it('gives null for an unknown name or no name when there is no default', async () => {
    const { store, done } = await setup(null);
    try {
      expect(store.select('a.example.com')).not.toBeNull();
      expect(store.select('b.example.com')).toBeNull();
      expect(store.select('y.x.b.example.com')).toBeNull();
      expect(store.select(null)).toBeNull();
    } finally {
      done();
    }
  });

  it('keeps a name for the first certificate that names it (a later one still serves its other names)', async () => {
    const { store, done } = await setup(null);
    try {
      expect(store.info().map((i) => [i.serial, i.names])).toEqual([
        ['A1', ['a.example.com']],
        ['B2', ['*.b.example.com']],
        ['DD', ['default.example.com']],
        ['E5', ['a.example.com', 'e.example.com']],
      ]);
      expect(store.select('a.example.com')).toBe(store.byName('a.example.com'));
      expect(store.select('a.example.com')).not.toBe(store.select('e.example.com'));
    } finally {
      done();
    }
  });
});

describe('a real handshake with the selected certificate', () => {
  it('shows the client the exact, wildcard or default certificate by the name it sent, and the default when it sent none', async () => {
    const { ca, store, done } = await setup('default.example.com');
    const server = await listen(store);
    try {
      expect(await serialSeen(server.port, 'a.example.com', ca.cert)).toBe('A1');
      expect(await serialSeen(server.port, 'e.example.com', ca.cert)).toBe('E5');
      expect(await serialSeen(server.port, 'x.b.example.com', ca.cert)).toBe('B2');
      expect(await serialSeen(server.port, 'b.example.com', ca.cert)).toBe('DD');
      expect(await serialSeen(server.port, 'y.x.b.example.com', ca.cert)).toBe('DD');
      expect(await serialSeen(server.port, undefined, ca.cert)).toBe('DD');
    } finally {
      await server.close();
      done();
    }
  });

  it('passes node\'s own host name check for the exact and the wildcard name', async () => {
    const { ca, store, done } = await setup(null);
    const server = await listen(store);
    const connect = (servername: string) =>
      new Promise<boolean>((resolve, reject) => {
        const c = tls.connect({ host: '127.0.0.1', port: server.port, servername, ca: ca.cert }, () => {
          const ok = c.authorized;
          c.destroy();
          resolve(ok);
        });
        c.on('error', reject);
      });
    try {
      expect(await connect('a.example.com')).toBe(true);
      expect(await connect('x.b.example.com')).toBe(true);
    } finally {
      await server.close();
      done();
    }
  });

  it('fails the handshake of a client whose name nothing serves, and of one that sends none, when there is no default', async () => {
    const { ca, store, done } = await setup(null);
    const server = await listen(store);
    try {
      await expect(serialSeen(server.port, 'b.example.com', ca.cert)).rejects.toThrow();
      await expect(serialSeen(server.port, undefined, ca.cert)).rejects.toThrow();
      // the same listener still serves a name it has
      expect(await serialSeen(server.port, 'a.example.com', ca.cert)).toBe('A1');
    } finally {
      await server.close();
      done();
    }
  });
});
