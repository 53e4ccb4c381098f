import http from 'node:http';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask, waitFor } from './helpers/reload.js';

describe('a reload under open connections', () => {
  let a: TestBackend, b: TestBackend, p: TestProxy, agent: http.Agent;
  afterEach(async () => { agent?.destroy(); await p?.close(); await Promise.all([a, b].map((x) => x?.close())); });

  it('lets an in-flight request finish where it was routed, and a kept-alive connection stays open and uses the new script', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const list = luaBackends([a, b]);
    p = await startProxy(list + 'function route(h, p) return "a" end');
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await ask(p.port, { agent });
    expect(first.backend).toBe('a');

    const slow = ask(p.port, { path: '/slow?ms=400' });
    await waitFor(() => a.seen.some((s) => s.url.startsWith('/slow')), 3000, 'the slow request to reach a');
    p.write(list + 'function route(h, p) return "b" end');
    expect((await p.running.reloader.reload('test')).ok).toBe(true);

    const next = await ask(p.port, { agent });
    expect(next).toMatchObject({ status: 200, backend: 'b', reused: true, localPort: first.localPort });
    expect(await slow).toMatchObject({ status: 200, backend: 'a' });
  });
});
