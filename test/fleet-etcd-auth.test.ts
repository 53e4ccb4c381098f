/**
 * etcd with password auth on: a fleet command reaches it with --etcd-user and the
 * password from LUAPROXY_ETCD_PASSWORD (never from the script); a wrong password is
 * LPX_FLEET_ETCD, naming the endpoint, and nothing is written.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import path from 'node:path';
import { Etcd3, Range } from 'etcd3';
import { startEtcd, etcdMissing, type TestEtcd } from './helpers/etcd.js';
import { scriptDir, cli } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('etcd with password auth', () => {
  let etcd: TestEtcd;
  const prefix = '/auth/';
  const saved = process.env.LUAPROXY_ETCD_PASSWORD;
  beforeAll(async () => {
    etcd = await startEtcd();
    const admin = new Etcd3({ hosts: etcd.url });
    try {
      await admin.role('root').create();
      await admin.user('root').create('rootpw');
      await admin.user('root').addRole('root');
      await admin.role('lpx').create();
      await admin.role('lpx').grant({ permission: 'Readwrite', range: Range.prefix(prefix) });
      await admin.user('deployer').create('s3cret');
      await admin.user('deployer').addRole('lpx');
      await admin.auth.authEnable({});
    } finally {
      admin.close();
    }
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.LUAPROXY_ETCD_PASSWORD; else process.env.LUAPROXY_ETCD_PASSWORD = saved;
    await etcd?.stop();
  });

  it('pushes with --etcd-user and LUAPROXY_ETCD_PASSWORD, and refuses a wrong password', async () => {
    const file = path.join(scriptDir({ 'config.lua': 'backends = { "http://127.0.0.1:9001" }\nfunction route(h, p) return proxy.hash(h) end\n' }), 'config.lua');
    process.env.LUAPROXY_ETCD_PASSWORD = 'wrong';
    const denied = await cli('push', file, '--etcd', etcd.url, '--etcd-prefix', prefix, '--etcd-user', 'deployer');
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(new RegExp(`^etcd at ${etcd.url.replace(/[.]/g, '\\.')}: reading /auth/ failed: .*(authentication failed|invalid user ID or password)`, 'i'));

    process.env.LUAPROXY_ETCD_PASSWORD = 's3cret';
    const ok = await cli('push', file, '--etcd', etcd.url, '--etcd-prefix', prefix, '--etcd-user', 'deployer');
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    const st = await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix, '--etcd-user', 'deployer');
    expect(st.out).toMatch(/^etcd \/auth\/: revision \d+, hash [0-9a-f]{12}/);
  });
});
