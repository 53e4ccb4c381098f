/**
 * `luaproxy init DIR` writes a commented starter config.lua, its routing tests and a
 * .luarc.json, and the result passes `luaproxy check` and `luaproxy test` at once.
 * Runs the built CLI (npm run build).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/luaproxy.js');

function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 20_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) || 1 : 0, stdout, stderr });
    });
  });
}

describe('luaproxy init', () => {
  let tmp: string;
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-init-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes config.lua, config_test.lua and .luarc.json into a new folder', async () => {
    const r = await cli(['init', 'site'], tmp);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(path.join(tmp, 'site')).sort()).toEqual(['.luarc.json', 'config.lua', 'config_test.lua']);
    expect(r.stdout).toMatch(/luaproxy check config\.lua/);
    const config = fs.readFileSync(path.join(tmp, 'site/config.lua'), 'utf8');
    // commented: explains itself, and shows the annotations that give editors route's types
    expect(config.split('\n').filter((l) => /^\s*--/.test(l)).length).toBeGreaterThan(15);
    expect(config).toMatch(/^---@param req luaproxy\.Request$/m);
    const rc = JSON.parse(fs.readFileSync(path.join(tmp, 'site/.luarc.json'), 'utf8')) as { workspace: { library: string[] } };
    expect(fs.existsSync(path.join(path.resolve(tmp, 'site', rc.workspace.library[0]), 'proxy.lua'))).toBe(true);
  });

  it('the starter passes luaproxy check', async () => {
    const r = await cli(['check', 'config.lua'], path.join(tmp, 'site'));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/config\.lua: ok: listen 0\.0\.0\.0:8080, 2 backends \(app1, app2\)/);
    expect(r.stderr).toBe('');
  });

  it('the starter passes luaproxy test, with every test run', async () => {
    const r = await cli(['test', '--verbose'], path.join(tmp, 'site'));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const m = /(\d+) passed, (\d+) failed/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(3);
    expect(Number(m![2])).toBe(0);
    expect(r.stdout).toContain('config_test.lua');
  });

  it('init . writes into the current folder', async () => {
    const here = path.join(tmp, 'here');
    fs.mkdirSync(here);
    const r = await cli(['init'], here);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(here, 'config.lua'))).toBe(true);
    expect((await cli(['check', 'config.lua'], here)).code).toBe(0);
  });
});
