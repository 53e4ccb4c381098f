import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, deadPort, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask, save, waitFor } from './helpers/reload.js';

// Runs the built CLI (bin/luaproxy.js -> dist/): `npm run build` first.
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/luaproxy.js');

describe('luaproxy run as a process', () => {
  let a: TestBackend, b: TestBackend, child: ChildProcess | null = null;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    child = null;
    await Promise.all([a, b].map((x) => x?.close()));
  });

  it('reloads on SIGHUP, refuses a broken script then, and `luaproxy reload` asks it through the admin API', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const [port, adminPort] = [await deadPort(), await deadPort()];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-sighup-'));
    const file = path.join(dir, 'config.lua');
    const write = (route: string) => save(file, `listen = "127.0.0.1:${port}"\nadmin = { listen = "127.0.0.1:${adminPort}" }\nlog = { access = false }\n${luaBackends([a, b])}${route}`);
    write('function route(h, p) return "a" end');

    child = spawn(process.execPath, [BIN, 'run', '--json', '--no-watch', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    const up = async () => ask(port).then((r) => r.status === 200, () => false);
    await waitFor(up, 15_000, 'the proxy to listen');
    expect((await ask(port)).backend).toBe('a');

    write('function route(h, p) return "b" end');
    child.kill('SIGHUP');
    await waitFor(async () => (await ask(port)).backend === 'b', 5000, 'SIGHUP to switch routing');

    write('function route(h, p) return "a" en');
    child.kill('SIGHUP');
    // logs are flushed lazily; the refusal shows in the admin status at once
    const status = async () => JSON.parse((await ask(adminPort, { path: '/status', host: `127.0.0.1:${adminPort}` })).body);
    await waitFor(async () => (await status()).reload?.last?.ok === false, 5000, 'the refusal');
    expect((await status()).reload.last).toMatchObject({ trigger: 'SIGHUP', code: 'LPX_CONFIG_SYNTAX' });
    expect((await ask(port)).backend).toBe('b');
    expect(child.exitCode).toBeNull();

    write('function route(h, p) return "a" end');
    const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'reload', file], { timeout: 15_000 }, (e, stdout) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout }));
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^reload ok: version 3 live/);
    expect((await ask(port)).backend).toBe('a');
  });
});
