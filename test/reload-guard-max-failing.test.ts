/**
 * reload.max_failing: a new version whose dry run would answer 404 (or 5xx) to more than
 * half of the recent successful requests is refused with the figures, whatever the
 * trigger; the old version keeps serving; `--force` (the admin API's ?force=1, which
 * `luaproxy reload --force` calls) lets it go live.
 */
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

function post(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('reload.max_failing refuses a version that turns most recent traffic into 404', () => {
  let a: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await a?.close(); });

  it('refuses a route that returns nil for everything, with the figures; --force overrides', async () => {
    a = await startBackend('a');
    p = await startProxy(`${luaBackends([a])}admin = { listen = "127.0.0.1:0" }\nfunction route(h, p) return "a" end`);
    for (let i = 0; i < 10; i++) expect((await ask(p.port, { host: `site${i}.example.com` })).status).toBe(200);

    p.write(`${luaBackends([a])}admin = { listen = "127.0.0.1:0" }\nfunction route(h, p) return nil end`);
    const r = await p.running.reloader.reload('file');
    expect(r.ok).toBe(false);
    expect(r.code).toBe('LPX_RELOAD_GUARD');
    expect(r.error).toContain('reload.max_failing tripped');
    expect(r.error).toContain('404 or 5xx to 10 of 10 recent successful requests (100%; the limit is 50%)');
    expect(r.version).toBe(1);
    // the old version keeps serving
    expect((await ask(p.port, { host: 'site3.example.com' })).status).toBe(200);

    // the same refusal through the admin API, then --force
    const adminPort = p.running.admin!.address!.port;
    const refused = await post(adminPort, '/reload');
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('LPX_RELOAD_GUARD');
    const forced = await post(adminPort, '/reload?force=1');
    expect(forced.status).toBe(200);
    expect(forced.body.forced).toBe(true);
    expect(forced.body.failing).toBe(1);
    expect((await ask(p.port, { host: 'site3.example.com' })).status).toBe(404);
  });

  it('lets through a version that fails a minority, and one that fails all when max_failing = 1 is live', async () => {
    a = await startBackend('a');
    const route = (cond: string) => `function route(h, p) if ${cond} then return nil end return "a" end`;
    p = await startProxy(`${luaBackends([a])}reload = { max_failing = 1 }\n${route('false')}`);
    for (let i = 0; i < 10; i++) await ask(p.port, { host: `site${i}.example.com` });
    p.write(`${luaBackends([a])}reload = { max_failing = 1 }\n${route('h == "site1.example.com"')}`);
    const minority = await p.running.reloader.reload('SIGHUP');
    expect(minority.ok).toBe(true);
    expect(minority.failing).toBeCloseTo(0.1);
    p.write(`${luaBackends([a])}reload = { max_failing = 1 }\n${route('true')}`);
    expect((await p.running.reloader.reload('SIGHUP')).ok).toBe(true);
  });
});
