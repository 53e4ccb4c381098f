import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

describe('a broken script is refused and the old one keeps serving', () => {
  let a: TestBackend, b: TestBackend, p: TestProxy, list: string;
  beforeEach(async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    list = luaBackends([a, b]);
    p = await startProxy(list + 'function route(h, p) return "a" end');
    expect((await ask(p.port)).backend).toBe('a'); // a recent request for the dry run
  });
  afterEach(async () => { await p.close(); await Promise.all([a, b].map((x) => x.close())); });

  const cases: Array<[string, string, string, RegExp]> = [
    ['a syntax error', 'function route(h, p) return "b" en', 'LPX_CONFIG_SYNTAX', /config\.lua:\d+: .*expected/],
    ['a runtime error while loading', 'error("refuse me")\nfunction route(h, p) return "b" end', 'LPX_CONFIG_LOAD', /config\.lua:\d+: refuse me/],
    ['an invalid setting', 'timeouts = { conect = 1 }\nfunction route(h, p) return "b" end', 'LPX_CONFIG_INVALID', /config\.lua:\d+: timeouts\.conect: unknown setting; did you mean "connect"/],
    ['a route that names a backend that does not exist', 'function route(h, p) return "nosuch" end', 'LPX_ROUTE_NO_BACKEND', /config\.lua:\d+: .*"nosuch", which is not a backend.*dry run/],
    ['a route that fails on a recent request', 'function route(h, p) if h == "x.example.com" then local t = nil; return t.x end return "b" end', 'LPX_ROUTE_ERROR', /config\.lua:\d+: .*index a nil value/],
  ];

  for (const [what, script, code, message] of cases) {
    it(`refuses ${what}, counts and logs it, and keeps the old version`, async () => {
      const live = p.running.config;
      p.write(list + script);
      const r = await p.running.reloader.reload('test');

      expect(r).toMatchObject({ ok: false, code, version: 1, hash: live.hash });
      expect(r.error).toMatch(message);
      expect(p.running.config).toBe(live);
      expect(p.running.reloader.counts).toEqual({ ok: 0, refused: 1 });
      expect(p.running.reloader.last).toBe(r);
      const line = p.logs.find((l) => l.level === 50 && String(l.msg).startsWith('reload refused'));
      expect(line?.msg).toContain(r.error);
      expect(line?.msg).toContain('version 1');
      expect((await ask(p.port)).backend).toBe('a');

      // then a good script takes over
      p.write(list + 'function route(h, p) return "b" end');
      expect(await p.running.reloader.reload('test')).toMatchObject({ ok: true, version: 2 });
      expect((await ask(p.port)).backend).toBe('b');
    });
  }
});
