/**
 * `luaproxy run --etcd` as users start it: the BUILT binary (npm run build first; `npm
 * test` does) as a child process, with --listen, --admin, --cache and --id. It serves
 * etcd's version, registers, and on SIGTERM leaves the fleet view at once and exits 0.
 * `run --etcd` with a script, or with --workers, is a usage error (exit 2).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEtcd, etcdMissing, freePort, type TestEtcd } from './helpers/etcd.js';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { BIN, builtBinaryExists } from './helpers/cluster.js';
import { scriptDir, cli, until } from './helpers/fleet.js';

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (e, _out, stderr) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stderr }));
  });
}

describe.skipIf(etcdMissing)('luaproxy run --etcd, the binary', () => {
  let etcd: TestEtcd;
  let a: TestBackend;
  let child: ChildProcess | null = null;
  const prefix = '/cli/';
  beforeAll(async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    etcd = await startEtcd();
    a = await startBackend('a');
  });
  afterAll(async () => {
    if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    await etcd?.stop();
    await a?.close();
  });

  it('serves etcd\'s version, registers, and leaves the fleet on SIGTERM', async () => {
    const dir = scriptDir({ 'config.lua': `${luaBackends([a])}function route(h, p) return "a" end\n` });
    expect((await cli('push', path.join(dir, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    const port = await freePort();
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-fleet-cli-'));
    child = spawn(process.execPath, [BIN, 'run', '--etcd', etcd.url, '--etcd-prefix', prefix, '--listen', `127.0.0.1:${port}`, '--cache', cache, '--id', 'cli1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c) => { out += c; });
    child.stderr!.on('data', (c) => { out += c; });
    await until(() => out.includes('fleet instance cli1: serving revision'), 15_000, `the instance to start (output so far: ${out})`);
    expect((await ask(port, { host: 'x.example.com' })).backend).toBe('a');
    expect(fs.existsSync(path.join(cache, 'version.json'))).toBe(true);
    await until(async () => (await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix)).out.includes('cli1'), 3000, 'cli1 in the fleet view');

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    const after = await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(after.out).not.toContain('cli1');
    expect(after.out).toContain('(no instance registered)');
  });

  it('refuses a script or --workers with --etcd (exit 2), and names an unreadable --etcd-ca', async () => {
    const withScript = await run(['run', 'config.lua', '--etcd', etcd.url]);
    expect(withScript.code).toBe(2);
    expect(withScript.stderr).toContain('run --etcd takes no script (config.lua)');
    const workers = await run(['run', '--etcd', etcd.url, '--workers', '2']);
    expect(workers.code).toBe(2);
    expect(workers.stderr).toContain('--etcd with --workers is not supported yet');
    const bad = await run(['run', '--etcd', 'localhost:2379']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--etcd: expected a URL like http://127.0.0.1:2379, got "localhost:2379"');
    // credentials and TLS come from flags (or LUAPROXY_ETCD_*), never from the script
    const ca = await run(['status', '--etcd', etcd.url, '--etcd-ca', '/nonexistent/ca.pem']);
    expect(ca.code).toBe(1);
    expect(ca.stderr).toContain('/nonexistent/ca.pem (--etcd-ca or LUAPROXY_ETCD_CA): cannot read the file');
  });
});
