/**
 * Errors a user meets on the command line each print one clear line on stderr and exit
 * non-zero, never a stack trace; --verbose adds the detail. Runs the built CLI
 * (bin/luaproxy.js -> dist/), so `npm run build` first (`npm test` does).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/luaproxy.js');

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], opts: { cwd?: string; uid?: number; gid?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: opts.cwd, uid: opts.uid, gid: opts.gid, timeout: 15_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

const STACK = /^\s+at .+[(:]/m;

/** exit 1, exactly one line on stderr matching `re`, no stack frames */
function expectOneLine(r: Run, re: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(re);
  expect(r.stderr).not.toMatch(STACK);
}

const script = (listen: string) => `listen = "${listen}"\nbackends = { "http://127.0.0.1:9" }\nfunction route(host, path) return nil end\n`;

describe('command-line errors', () => {
  let dir: string;
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-cli-'));
    fs.chmodSync(dir, 0o755);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a missing config file', async () => {
    expectOneLine(await cli(['run', 'nope.lua'], { cwd: dir }), /^nope\.lua: cannot read the script: no such file$/);
    expectOneLine(await cli(['check', 'nope.lua'], { cwd: dir }), /no such file/);
  });

  it('a config path that is a folder', async () => {
    expectOneLine(await cli(['run', dir]), /: cannot read the script: is a folder, not a Lua file$/);
  });

  it('a port in use', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    try {
      const port = (holder.address() as net.AddressInfo).port;
      const file = path.join(dir, 'busy.lua');
      fs.writeFileSync(file, script(`127.0.0.1:${port}`));
      expectOneLine(await cli(['run', file, '--no-watch']), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  // As root every port is allowed, so run the CLI as nobody to meet the error a normal user meets.
  const asNobody = process.getuid?.() === 0 && Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) > 1;
  it.skipIf(!asNobody)('permission denied on a low port (run as nobody; needs root to switch user)', async () => {
    const file = path.join(dir, 'low.lua');
    fs.writeFileSync(file, script('127.0.0.1:1'));
    fs.chmodSync(file, 0o644);
    expectOneLine(await cli(['run', file, '--no-watch'], { uid: 65534, gid: 65534 }), /cannot listen on 127\.0\.0\.1:1: permission denied/);
  });

  it.skipIf(process.getuid?.() !== 0)('permission denied on the config file (run as nobody)', async () => {
    const file = path.join(dir, 'secret.lua');
    fs.writeFileSync(file, script('127.0.0.1:0'));
    fs.chmodSync(file, 0o600);
    expectOneLine(await cli(['check', file], { uid: 65534, gid: 65534 }), /secret\.lua: cannot read the script: permission denied$/);
  });

  it('a script error is one file:line line', async () => {
    const file = path.join(dir, 'broken.lua');
    fs.writeFileSync(file, 'listen = 8080\nbackends = { "http://127.0.0.1:9" }\nfunction route(host, path)\n  return proxy.hash(host\nend\n');
    expectOneLine(await cli(['check', file]), /broken\.lua:\d+: .*expected/);
  });

  it('an unknown command or option says so and exits non-zero', async () => {
    for (const args of [['frobnicate'], ['run', '--bogus', 'x.lua'], ['check']]) {
      const r = await cli(args, { cwd: dir });
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.split('\n')[0]).toMatch(/^error: (unknown command 'frobnicate'|unknown option '--bogus'|missing required argument 'config')/);
      expect(r.stderr).not.toMatch(STACK);
    }
  });

  it('--verbose shows the detail, before or after the command', async () => {
    for (const args of [['--verbose', 'run', 'nope.lua'], ['run', 'nope.lua', '--verbose']]) {
      const r = await cli(args, { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toMatch(/^nope\.lua: cannot read the script: no such file$/);
      expect(r.stderr).toMatch(STACK);
      expect(r.stderr).toMatch(/ENOENT/);
    }
  });
});
