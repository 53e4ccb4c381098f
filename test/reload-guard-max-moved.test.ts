/**
 * reload.max_moved: off for a script from a file by default, and when set, a version that
 * would send more than that share of the recent hosts to another backend is refused with
 * the figures; --force lets it go live.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';

describe('reload.max_moved refuses a mass move of hosts', () => {
  let bs: TestBackend[] = [], p: TestProxy;
  afterEach(async () => { await p?.close(); await Promise.all(bs.map((x) => x.close())); bs = []; });

  it('is off by default for a file, refuses past its limit when set, and yields to --force', async () => {
    bs = await Promise.all(['a', 'b'].map((n) => startBackend(n)));
    const [a, b] = bs;
    const script = (guard: string, to: string) => `${luaBackends([a, b])}${guard}\nfunction route(h, p) ${to} end`;
    p = await startProxy(script('', 'return "a"'));
    for (let i = 0; i < 20; i++) await ask(p.port, { host: `h${i}.example.com` });

    // everything moves from a to b: fine by default (max_moved = 1)
    p.write(script('reload = { max_moved = 0.3 }', 'return "b"'));
    const free = await p.running.reloader.reload('SIGHUP');
    expect(free.ok).toBe(true);
    expect(free.moved).toBe(1);

    // now the live version sets max_moved = 0.3: moving everything back is refused
    for (let i = 0; i < 20; i++) await ask(p.port, { host: `h${i}.example.com` });
    p.write(script('reload = { max_moved = 0.3 }', 'return "a"'));
    const refused = await p.running.reloader.reload('SIGHUP');
    expect(refused.ok).toBe(false);
    expect(refused.code).toBe('LPX_RELOAD_GUARD');
    expect(refused.error).toContain('reload.max_moved tripped: the new version would move 20 of 20 recent hosts to another destination (100%; the limit is 30%)');
    expect((await ask(p.port, { host: 'h1.example.com' })).backend).toBe('b');

    const forced = await p.running.reloader.reload('SIGHUP', { force: true });
    expect(forced.ok).toBe(true);
    expect((await ask(p.port, { host: 'h1.example.com' })).backend).toBe('a');
  });
});
