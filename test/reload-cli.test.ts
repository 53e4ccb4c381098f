import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, deadPort, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask, save } from './helpers/reload.js';
import { start, type Running } from '../src/app.js';
import { silentLogger } from '../src/core/logger.js';
import { cli } from './helpers/cli.js';


describe('luaproxy reload', () => {
  let a: TestBackend, b: TestBackend, running: Running | null = null;
  afterEach(async () => { await running?.stop(2000); running = null; await Promise.all([a, b].map((x) => x?.close())); });

  const setup = async (admin: string) => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-cli-reload-'));
    const file = path.join(dir, 'config.lua');
    const write = (route: string) => save(file, `listen = "127.0.0.1:0"\nadmin = ${admin}\n${luaBackends([a, b])}${route}`);
    write('function route(h, p) return "a" end');
    running = await start({ file, log: silentLogger(), watch: false });
    return { file, write, port: running.address.port };
  };

  it('reads admin.listen and admin.token from config.lua, prints the new version, and exits 1 with the error when refused', async () => {
    const adminPort = await deadPort();
    const { file, write, port } = await setup(`{ listen = "127.0.0.1:${adminPort}", token = "t0ken" }`);

    write('function route(h, p) return "b" end');
    const ok = await cli('reload', file);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(new RegExp(`^reload ok: version 2 live, hash ${running!.config.hash}, [\\d.]+ ms`));
    expect((await ask(port)).backend).toBe('b');

    // loads, so the CLI can read admin.listen, but names a backend that does not exist
    write('function route(h, p) return "nosuch" end');
    const refused = await cli('reload', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^reload refused: .*config\.lua:\d+: .*"nosuch", which is not a backend/);
    expect(refused.err).toContain('version 2');
    expect((await ask(port)).backend).toBe('b');
  });

  it('takes --admin and --token, and reports a script the proxy refused for a syntax error', async () => {
    const adminPort = await deadPort();
    const { write, port } = await setup(`{ listen = "127.0.0.1:${adminPort}", token = "t0ken" }`);
    write('function route(h, p) return "b" en');
    const refused = await cli('reload', '--admin', `127.0.0.1:${adminPort}`, '--token', 't0ken', '--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out)).toMatchObject({ ok: false, code: 'LPX_CONFIG_SYNTAX', version: 1 });

    const noToken = await cli('reload', '--admin', `127.0.0.1:${adminPort}`);
    expect(noToken.code).toBe(1);
    expect(noToken.err).toMatch(/refused the request \(401\).*--token/);
    expect((await ask(port)).backend).toBe('a');
  });

  it('says so when no proxy listens at the admin address', async () => {
    const r = await cli('reload', '--admin', `127.0.0.1:${await deadPort()}`);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach the admin listener at 127\.0\.0\.1:\d+: nothing listens there/);
  });
});
