import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask, attempts, waitFor, save, sleep } from './helpers/reload.js';

describe('saving the script by rename reloads it', () => {
  let a: TestBackend, b: TestBackend, c: TestBackend, p: TestProxy, list: string;
  afterEach(async () => { await p?.close(); await Promise.all([a, b, c].map((x) => x?.close())); });
  const setup = async (script: string) => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    list = luaBackends([a, b, c]);
    p = await startProxy(list + script, { watch: true });
  };

  it('picks up a save by rename within a second of the save', async () => {
    await setup('function route(h, p) return "a" end');
    expect((await ask(p.port)).backend).toBe('a');
    const savedAt = Date.now();
    p.write(list + 'function route(h, p) return "b" end');
    await waitFor(() => attempts(p) === 1, 3000, 'the reload after the save');
    const r = p.running.reloader.last!;
    expect(r).toMatchObject({ ok: true, trigger: 'file', version: 2 });
    expect(Date.parse(r.at) - savedAt).toBeLessThan(1000);
    expect((await ask(p.port)).backend).toBe('b');
  });

  it('does not bump the version when a save leaves the files as they were', async () => {
    await setup('function route(h, p) return "a" end');
    const text = fs.readFileSync(p.file, 'utf8');
    save(p.file, text);
    fs.writeFileSync(path.join(p.dir, 'unrelated.lua'), 'return 1\n');
    await sleep(600);
    expect(p.running.reloader.version).toBe(1);
    expect(attempts(p)).toBe(0);
    p.write(list + 'function route(h, p) return "c" end');
    await waitFor(() => attempts(p) === 1, 3000, 'the reload after a real change');
    expect(p.running.reloader.version).toBe(2);
  });
});
