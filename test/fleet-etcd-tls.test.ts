/**
 * etcd over TLS, with client certificates: the fleet commands reach it with --etcd-ca (and
 * --etcd-cert/--etcd-key when etcd asks for a client certificate), never with anything
 * from the script; without the CA the command fails on the certificate, naming the
 * endpoint, and nothing is written.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCA, makeCert } from '../src/tls/self-signed.js';
import { startEtcd, etcdMissing, type TestEtcd } from './helpers/etcd.js';
import { scriptDir, cli, startInstance, until, type TestInstance } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('etcd over TLS with client certificates', () => {
  let etcd: TestEtcd;
  let dir: string;
  const prefix = '/tls/';
  beforeAll(async () => {
    const ca = await makeCA();
    const [server, client] = await Promise.all([makeCert({ ca, names: ['127.0.0.1', 'localhost'] }), makeCert({ ca, names: ['deployer.example'] })]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-etcd-tls-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
    fs.writeFileSync(path.join(dir, 'client.pem'), client.cert);
    fs.writeFileSync(path.join(dir, 'client.key'), client.key, { mode: 0o600 });
    etcd = await startEtcd({ tls: { cert: server.chain ?? server.cert, key: server.key, ca: ca.cert, clientCert: { cert: client.cert, key: client.key } } });
  });
  afterAll(async () => { await etcd?.stop(); });

  it('pushes and reads the status with --etcd-ca, --etcd-cert and --etcd-key, and fails cleanly without them', async () => {
    expect(etcd.url.startsWith('https://')).toBe(true);
    const file = path.join(scriptDir({ 'config.lua': 'backends = { "http://127.0.0.1:9001" }\nfunction route(h, p) return proxy.hash(h) end\n' }), 'config.lua');
    const tlsFlags = ['--etcd-ca', path.join(dir, 'ca.pem'), '--etcd-cert', path.join(dir, 'client.pem'), '--etcd-key', path.join(dir, 'client.key')];

    // no CA: etcd's certificate is not trusted
    const untrusted = await cli('push', file, '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.err).toContain(`etcd at ${etcd.url}`);

    const ok = await cli('push', file, '--etcd', etcd.url, '--etcd-prefix', prefix, ...tlsFlags);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);

    // an instance reads the same settings from the environment (LUAPROXY_ETCD_CA/_CERT/_KEY)
    const saved = { ...process.env };
    Object.assign(process.env, { LUAPROXY_ETCD_CA: path.join(dir, 'ca.pem'), LUAPROXY_ETCD_CERT: path.join(dir, 'client.pem'), LUAPROXY_ETCD_KEY: path.join(dir, 'client.key') });
    let instance: TestInstance | null = null;
    try {
      instance = await startInstance(etcd.url, prefix, { id: 'tls1' });
      let st = await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix, ...tlsFlags);
      await until(async () => (st = await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix, ...tlsFlags)).code === 0, 5000, 'the instance registered over TLS');
      expect(st.out).toMatch(/^etcd \/tls\/: revision \d+, hash [0-9a-f]{12}/);
      expect(st.out).toContain('tls1');
    } finally {
      await instance?.stop(1000);
      for (const k of ['LUAPROXY_ETCD_CA', 'LUAPROXY_ETCD_CERT', 'LUAPROXY_ETCD_KEY']) { if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k]; }
    }
  });
});
