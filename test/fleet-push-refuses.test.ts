/**
 * `luaproxy push` publishes nothing that an instance would refuse: a script that does not
 * load, one whose own `tests` fail, one whose config_test.lua fails (run as `luaproxy
 * test` runs it). Each exits 1 with the reason, and etcd holds what it held.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcd, etcdMissing, type TestEtcd } from './helpers/etcd.js';
import { scriptDir, cli } from './helpers/fleet.js';

const B = 'backends = { { name = "a", url = "http://127.0.0.1:9001" }, { name = "b", url = "http://127.0.0.1:9002" } }\n';

describe.skipIf(etcdMissing)('push refuses what the fleet would refuse', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  const prefix = '/refuse/';
  beforeAll(async () => { etcd = await startEtcd(); client = new Etcd3({ hosts: etcd.url }); });
  afterAll(async () => { client?.close(); await etcd?.stop(); });

  const push = (files: Record<string, string>) => cli('push', path.join(scriptDir(files), 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix);

  it('refuses a broken script, failing own tests and a failing config_test.lua, writing nothing', async () => {
    const good = `${B}function route(h, p) if h == "api.example.com" then return "b" end return "a" end\n`;
    expect((await push({ 'config.lua': good })).code).toBe(0);

    const syntax = await push({ 'config.lua': `${B}function route(h, p)\n  return "a"\n` });
    expect(syntax.code).toBe(1);
    expect(syntax.err).toMatch(/config\.lua:4: 'end' expected/);
    expect(syntax.err).toContain('nothing was published');

    const own = await push({ 'config.lua': `${good}tests = { { "api.example.com", "/", "a" } }\n` });
    expect(own.code).toBe(1);
    expect(own.err).toMatch(/config\.lua:3: own test failed: route\("api\.example\.com", "\/"\): expected backend "a", got backend "b"/);
    expect(own.err).toContain('the script fails its checks');

    const files = await push({
      'config.lua': `${B}function route(h, p) return "a" end\n`,
      'config_test.lua': 'routes { { "api.example.com", "/", "b" } }\n',
    });
    expect(files.code).toBe(1);
    expect(files.err).toMatch(/1 of 1 tests in .*config_test\.lua failed; nothing was published/);

    expect(await client.get(`${prefix}config.lua`).string()).toBe(good);

    const passing = await push({ 'config.lua': good, 'config_test.lua': 'routes { { "api.example.com", "/", "b" } }\n' });
    expect(passing.code).toBe(0);
    expect(passing.err).toMatch(/^1 tests in .*config_test\.lua passed/);
  });
});
