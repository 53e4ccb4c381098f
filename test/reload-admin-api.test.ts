import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask, save } from './helpers/reload.js';
import { get } from './helpers/http.js';
import { start, type Running } from '../src/app.js';
import { silentLogger } from '../src/core/logger.js';

describe('POST /reload on the admin listener', () => {
  let a: TestBackend, b: TestBackend, running: Running | null = null;
  afterEach(async () => { await running?.stop(2000); running = null; await Promise.all([a, b].map((x) => x?.close())); });

  const setup = async (extra = '') => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-admin-reload-'));
    const file = path.join(dir, 'config.lua');
    const write = (route: string) => save(file, `listen = "127.0.0.1:0"\n${extra}${luaBackends([a, b])}${route}`);
    write('function route(h, p) return "a" end');
    running = await start({ file, log: silentLogger(), watch: false, admin: '127.0.0.1:0' });
    const admin = `http://127.0.0.1:${running.admin!.address!.port}`;
    return { write, admin, port: running.address.port };
  };

  it('answers 200 with the result when the new script went live, and 422 with the error when it was refused', async () => {
    const { write, admin, port } = await setup();
    write('function route(h, p) return "b" end');
    const ok = await get(`${admin}/reload`, { method: 'POST' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString())).toMatchObject({ ok: true, version: 2, trigger: 'admin', hash: running!.config.hash });
    expect((await ask(port)).backend).toBe('b');

    write('function route(h, p) return "a" en');
    const refused = await get(`${admin}/reload`, { method: 'POST' });
    expect(refused.status).toBe(422);
    const body = JSON.parse(refused.body.toString());
    expect(body).toMatchObject({ ok: false, version: 2, code: 'LPX_CONFIG_SYNTAX' });
    expect(body.error).toMatch(/config\.lua:\d+:/);
    expect((await ask(port)).backend).toBe('b');

    const status = JSON.parse((await get(`${admin}/status`)).body.toString());
    expect(status.version).toBe(2);
    expect(status.reload.last).toMatchObject({ ok: false, code: 'LPX_CONFIG_SYNTAX' });
  });

  it('needs the bearer token when admin.token is set', async () => {
    const { write, admin, port } = await setup('admin = { token = "s3cret" }\n');
    write('function route(h, p) return "b" end');
    expect((await get(`${admin}/reload`, { method: 'POST' })).status).toBe(401);
    expect(running!.reloader.version).toBe(1);
    const ok = await get(`${admin}/reload`, { method: 'POST', headers: { authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
    expect((await ask(port)).backend).toBe('b');
  });
});
