import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask, attempts, waitFor, save } from './helpers/reload.js';

describe('saving a file the script requires reloads it', () => {
  let a: TestBackend, b: TestBackend, c: TestBackend, p: TestProxy, list: string;
  afterEach(async () => { await p?.close(); await Promise.all([a, b, c].map((x) => x?.close())); });
  const setup = async (script: string) => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    list = luaBackends([a, b, c]);
    p = await startProxy(list + script, { watch: true });
  };

  it('reloads when a required module is saved, in the same folder or a subfolder', async () => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    list = luaBackends([a, b, c]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-reload-'));
    fs.mkdirSync(path.join(dir, 'lib'));
    fs.writeFileSync(path.join(dir, 'first.lua'), 'return function() return "a" end\n');
    fs.writeFileSync(path.join(dir, 'lib', 'second.lua'), 'return function() return "a" end\n');
    p = await startProxy(list + 'local first = require "first"\nlocal second = require "lib.second"\nfunction route(h, p) if p == "/2" then return second() end return first() end', { watch: true, dir });
    expect((await ask(p.port)).backend).toBe('a');
    expect((await ask(p.port, { path: '/2' })).backend).toBe('a');

    save(path.join(dir, 'first.lua'), 'return function() return "b" end\n');
    await waitFor(async () => (await ask(p.port)).backend === 'b', 3000, 'first.lua to take effect');
    save(path.join(dir, 'lib', 'second.lua'), 'return function() return "c" end\n');
    await waitFor(async () => (await ask(p.port, { path: '/2' })).backend === 'c', 3000, 'lib/second.lua to take effect');
    expect(p.running.reloader.counts).toEqual({ ok: 2, refused: 0 });
  });

  it('retries when a module that a refused script newly requires is fixed', async () => {
    await setup('function route(h, p) return "a" end');
    fs.writeFileSync(path.join(p.dir, 'pick.lua'), 'return function() return "b" en\n');
    p.write(list + 'local pick = require "pick"\nfunction route(h, p) return pick() end');
    await waitFor(() => attempts(p) >= 1, 3000, 'the refused reload');
    expect(p.running.reloader.last).toMatchObject({ ok: false, code: 'LPX_CONFIG_LOAD' });
    expect(p.running.reloader.last!.error).toMatch(/pick\.lua:1:/);
    save(path.join(p.dir, 'pick.lua'), 'return function() return "b" end\n');
    await waitFor(async () => (await ask(p.port)).backend === 'b', 3000, 'the fixed module to take effect');
  });
});
