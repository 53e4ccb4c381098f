import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { startBackend } from './helpers/backend.js';
import { startProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';

const dir = path.resolve(import.meta.dirname, '../examples');
const load = (name: string) => loadConfig(path.join(dir, name));
const decide = (cfg: ReturnType<typeof load>, host: string, p: string) => cfg.route(Buffer.from(host), Buffer.from(p), null);

describe('every example config', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.lua') && !/_test\.lua$|\.test\.lua$|_spec\.lua$/.test(f));
  it.each(files)('%s loads, validates and routes a request', (f) => {
    const cfg = load(f);
    expect(cfg.warnings).toEqual([]);
    const out = decide(cfg, 'www.example.com', '/');
    expect(['backend', 'respond']).toContain(out.kind);
  });

  it('hosting.lua: a web app lands on one backend whatever the case, and so does its reload URL', () => {
    const cfg = load('hosting.lua');
    const host = decide(cfg, 'ironhand.example.com', '/');
    const control = decide(cfg, 'www.example.com', '/user/fred/webapps/IronHand.Example.COM./reload');
    expect(host.kind).toBe('backend');
    expect(control).toEqual(host);
  });

  it('rewrite.lua: redirects, denies, strips a prefix and answers directly', () => {
    const cfg = load('rewrite.lua');
    expect(decide(cfg, 'example.com', '/a')).toMatchObject({ kind: 'respond', status: 301, headers: [['location', 'https://www.example.com/a']] });
    expect(decide(cfg, 'www.example.com', '/admin/x')).toMatchObject({ kind: 'respond', status: 403 });
    expect(decide(cfg, 'www.example.com', '/api/users')).toMatchObject({ kind: 'backend', name: 'api', path: '/users' });
    expect(decide(cfg, 'www.example.com', '/healthz')).toMatchObject({ kind: 'respond', status: 200 });
    expect(decide(cfg, 'www.example.com', '/page')).toMatchObject({ kind: 'backend', name: 'www' });
  });

  it('rewrite.lua works end to end in front of real backends', async () => {
    const [api, www] = await Promise.all([startBackend('api'), startBackend('www')]);
    const src = fs.readFileSync(path.join(dir, 'rewrite.lua'), 'utf8')
      .replace('listen = 8080', 'listen = "127.0.0.1:0"')
      .replace('http://127.0.0.1:9001', api.url).replace('http://127.0.0.1:9002', www.url);
    const p = await startProxy(src);
    try {
      const r = await get(p.url + '/api/users?id=7', { host: 'www.example.com', headers: { cookie: 'secret=1' } });
      const seen = JSON.parse(r.body.toString());
      expect(seen).toMatchObject({ backend: 'api', url: '/users?id=7' });
      expect(seen.headers['x-api-version']).toBe('2');
      expect(seen.headers.cookie).toBeUndefined();
      const redirect = await get(p.url + '/x', { host: 'Example.com' });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.location).toBe('https://www.example.com/x');
    } finally {
      await p.close();
      await Promise.all([api.close(), www.close()]);
    }
  });
});
