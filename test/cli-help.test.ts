/**
 * `luaproxy --help` and `luaproxy COMMAND --help` show an example for every command,
 * and `--version` prints the package's version. Runs the built CLI (npm run build).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/luaproxy.js');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 15_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('help and version', () => {
  it('--version and -V print the version from package.json', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });

  it('the top-level help lists every command and shows examples', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples?:\n\s+\$ luaproxy /);
    for (const c of buildProgram().commands) expect(r.stdout).toContain(c.name());
  });

  it('every command has --help with an example', async () => {
    const names = buildProgram().commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(['run', 'check', 'route', 'init']));
    const missing: string[] = [];
    await Promise.all(names.map(async (name) => {
      const r = await cli([name, '--help']);
      if (r.code !== 0 || !new RegExp(`Examples?:\\n\\s+\\$ luaproxy ${name}\\b`).test(r.stdout)) missing.push(`${name} (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    }));
    expect(missing).toEqual([]);
  });
});
