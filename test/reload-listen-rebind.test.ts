import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, deadPort, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask, waitFor } from './helpers/reload.js';

const refused = (port: number) => ask(port).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');

describe('a reload that changes listen', () => {
  let a: TestBackend, p: TestProxy, squatter: http.Server | null = null;
  afterEach(async () => {
    await p?.close();
    await a?.close();
    if (squatter) await new Promise((r) => squatter!.close(r));
    squatter = null;
  });

  it('binds the new address before closing the old one, and lets a request on the old one finish', async () => {
    a = await startBackend('a');
    p = await startProxy(luaBackends([a]) + 'function route(h, p) return "a" end');
    const oldPort = p.port;
    const slow = ask(oldPort, { path: '/slow?ms=400' });
    await waitFor(() => a.seen.length > 0, 3000, 'the slow request to reach a');

    const newPort = await deadPort();
    p.write(`listen = "127.0.0.1:${newPort}"\n` + luaBackends([a]) + 'function route(h, p) return "a" end');
    expect((await p.running.reloader.reload('test')).ok).toBe(true);

    expect(p.running.server.address?.port).toBe(newPort);
    expect((await ask(newPort)).status).toBe(200);
    expect(await slow).toMatchObject({ status: 200, backend: 'a' });
    await waitFor(() => refused(oldPort), 3000, 'the old address to close');
  });

  it('is refused when the new address cannot be bound, and the old listener stays', async () => {
    a = await startBackend('a');
    p = await startProxy(luaBackends([a]) + 'function route(h, p) return "a" end');
    squatter = http.createServer();
    await new Promise<void>((r) => squatter!.listen(0, '127.0.0.1', r));
    const taken = (squatter.address() as AddressInfo).port;
    const live = p.running.config;

    p.write(`listen = "127.0.0.1:${taken}"\n` + luaBackends([a]) + 'function route(h, p) return "a" end');
    const r = await p.running.reloader.reload('test');

    expect(r).toMatchObject({ ok: false, code: 'LPX_RELOAD_LISTEN', version: 1 });
    expect(r.error).toContain(`cannot listen on 127.0.0.1:${taken}: the address is already in use`);
    expect(p.running.config).toBe(live);
    expect(p.running.server.address?.port).toBe(p.port);
    expect((await ask(p.port)).status).toBe(200);
  });
});
