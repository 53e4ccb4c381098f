import { describe, it, expect, afterEach } from 'vitest';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { ADMIN_ON_LOOPBACK, scrape, value, post } from './helpers/admin.js';

describe('/metrics counts reloads by outcome and shows the live version', () => {
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
  });

  it('moves luaproxy_reloads_total, luaproxy_config_version and luaproxy_config_info on live and refused reloads', async () => {
    const script = (body: string) => ADMIN_ON_LOOPBACK + `function route(h, p) return { status = 200, body = "${body}" } end\n`;
    p = await startProxy(script('one'));
    let s = await scrape(p);
    expect(value(s, 'luaproxy_config_version')).toBe(1);
    const hash1 = s.find((x) => x.name === 'luaproxy_config_info')!.labels.hash;
    expect(hash1).toBe(p.running.config.hash);

    p.write(script('two'));
    expect((await post(p, '/reload')).status).toBe(200);
    p.write(script('three') + 'this is not lua\n');
    expect((await post(p, '/reload')).status).toBe(422);

    s = await scrape(p);
    expect(value(s, 'luaproxy_reloads_total', { outcome: 'ok', trigger: 'admin' })).toBe(1);
    expect(value(s, 'luaproxy_reloads_total', { outcome: 'refused', trigger: 'admin' })).toBe(1);
    expect(value(s, 'luaproxy_config_version')).toBe(2);
    expect(value(s, 'luaproxy_last_reload_ok')).toBe(0);
    expect(value(s, 'luaproxy_last_reload_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    const info = s.filter((x) => x.name === 'luaproxy_config_info');
    expect(info).toHaveLength(1);
    expect(info[0].labels.hash).not.toBe(hash1);
  });
});
