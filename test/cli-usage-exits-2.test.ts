/**
 * A command called wrongly (LPX_CLI_USAGE) exits 2 with its one-line message, as the
 * catalog says; any other failure still exits 1. Runs the built CLI (bin/luaproxy.js ->
 * dist/), so `npm run build` first (`npm test` does).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/luaproxy.js');

function cli(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 15_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr });
    });
  });
}

describe('usage errors exit 2', () => {
  let dir: string;
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-usage-'));
    fs.writeFileSync(path.join(dir, 'config.lua'), 'listen = "127.0.0.1:0"\nbackends = { "http://127.0.0.1:9" }\nfunction route(host, path) return nil end\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    [['run', 'config.lua', '--workers', 'banana'], '--workers: expected a whole number from 1 to 1024 or "auto", got "banana"'],
    [['test', '--reporter', 'xml'], '--reporter: expected one of pretty, tap, junit, got "xml"'],
    [['reload', '--admin', '127.0.0.1:9', '--timeout', '0'], '--timeout: expected a number of seconds above 0, got "0"'],
  ])('luaproxy %j', async (args, message) => {
    const r = await cli(args, dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(`${message}\n`);
  });

  it('an error that is not a usage error still exits 1', async () => {
    const r = await cli(['run', 'nope.lua', '--workers', '1'], dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe('nope.lua: cannot read the script: no such file\n');
  });
});
