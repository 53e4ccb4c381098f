/**
 * A pooled backend connection keeps nothing of the request that opened it (#18): its
 * read callbacks once shared a closure with that request's Attempt, so every pooled
 * connection kept the Attempt, its Exchange (head and all) and the Config of that
 * moment alive, across reloads, for as long as the connection lived.
 */
import { describe, it, expect, afterAll } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import http from 'node:http';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { startBackend, type TestBackend } from './helpers/backend.js';
import type { Config } from '../src/config/load.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject);
  });
}

describe('a pooled backend connection', () => {
  let p: TestProxy, b: TestBackend;
  afterAll(async () => { await p?.close(); await b?.close(); });

  it('does not keep the Config (or request) that opened it alive after a reload', async () => {
    b = await startBackend('app');
    const script = (n: number) => `${luaBackends([{ name: 'app', url: b.url }])}
timeouts = { backend_idle = 60 }
function route(host, path) return "app" end -- version ${n}`;
    p = await startProxy(script(1));
    expect(await get(p.port)).toBe(200);
    const first = new WeakRef<Config>(p.running.config);
    // the connection that request opened sits idle in the pool, kept across the reload
    p.write(script(2));
    const r = await p.running.reloader.reload('test');
    expect(r.ok).toBe(true);
    // a request over the same pooled connection under the new config
    expect(await get(p.port)).toBe(200);
    expect(p.running.config).not.toBe(first.deref());
    for (let i = 0; i < 10 && first.deref() !== undefined; i++) { await new Promise((res) => setTimeout(res, 20)); gc(); }
    expect(first.deref()).toBeUndefined();
  });
});
