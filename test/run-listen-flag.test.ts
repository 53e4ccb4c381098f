/**
 * `luaproxy run config.lua --listen ADDR` listens where the flag says, whatever the
 * script's `listen` is (several instances can share one script); the built binary.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { BIN, builtBinaryExists } from './helpers/cluster.js';
import { freePort } from './helpers/etcd.js';
import { until } from './helpers/fleet.js';

describe('run --listen', () => {
  let a: TestBackend | null = null;
  let child: ChildProcess | null = null;
  afterEach(async () => {
    if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    await a?.close();
  });

  it('overrides the script\'s listen address', async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    a = await startBackend('a');
    const [scriptPort, flagPort] = [await freePort(), await freePort()];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-listen-'));
    const file = path.join(dir, 'config.lua');
    fs.writeFileSync(file, `listen = "127.0.0.1:${scriptPort}"\n${luaBackends([a])}function route(h, p) return "a" end\n`);
    child = spawn(process.execPath, [BIN, 'run', file, '--listen', `127.0.0.1:${flagPort}`, '--no-watch', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c) => { out += c; });
    child.stderr!.on('data', (c) => { out += c; });
    await until(() => out.includes('luaproxy listening on'), 15_000, `the proxy to listen (output: ${out})`);
    expect(out).toContain(`luaproxy listening on 127.0.0.1:${flagPort}`);
    expect((await ask(flagPort)).backend).toBe('a');
    await expect(ask(scriptPort, { timeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);
  });
});
