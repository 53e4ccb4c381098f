// Testing a routing script from TypeScript with vitest: the same checks a Lua test file
// makes, written next to the rest of a TypeScript project's tests. In your own project,
// import from "luaproxy" exactly like this (see docs/testing.md).
import { describe, it, expect, beforeEach } from 'vitest';
import { loadRouting, type RoutingScript } from 'luaproxy';

const script = new URL('./hosting.lua', import.meta.url).pathname;

describe('hosting.lua routing', () => {
  let r: RoutingScript;
  beforeEach(() => {
    r = loadRouting(script); // a fresh copy: every backend up, randomness seeded
  });

  it('sends an app to the same backend in any letter case', () => {
    const home = r.route('ironhand.example.com', '/');
    expect(home).toMatchObject({ kind: 'backend', backend: 'web4' });
    expect(r.route('IronHand.Example.COM:8080', '/login')).toEqual(home);
  });

  it('sends the reload URL to the backend that runs the domain in the path', () => {
    expect(r.route('www.example.com', '/user/fred/webapps/IronHand.example.com/reload')).toMatchObject({ backend: 'web4' });
  });

  it('fails an app over when its backend is down, and back when it returns', () => {
    r.down('web4');
    expect(r.route('ironhand.example.com', '/')).toMatchObject({ backend: 'web1' });
    r.up('web4');
    expect(r.route('ironhand.example.com', '/')).toMatchObject({ backend: 'web4' });
  });

  it('moves only the apps of a drained backend', () => {
    const hosts = Array.from({ length: 100 }, (_, i) => `app${i}.example.com`);
    const before = hosts.map((h) => r.route(h, '/'));
    r.drain('web2');
    hosts.forEach((h, i) => {
      const was = before[i];
      if (was.kind === 'backend' && was.backend !== 'web2') expect(r.route(h, '/')).toEqual(was);
    });
  });
});
