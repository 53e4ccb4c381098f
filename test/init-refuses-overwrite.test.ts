/**
 * `luaproxy init` never overwrites: when any of the files it would write exists, it
 * writes none of them, leaves the existing one as it was, and exits 1 with one line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { init, starterFiles } from '../src/commands/init.js';
import { isLpxError } from '../src/core/errors.js';
import { main } from '../src/cli.js';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-init-'));
  dirs.push(d);
  return d;
}
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

describe('luaproxy init refuses to overwrite', () => {
  it.each(Object.keys(starterFiles('.')))('when %s exists, writes nothing and keeps it', (name) => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, name), 'mine\n');
    let err: unknown = null;
    try { init(dir); } catch (e) { err = e; }
    expect(isLpxError(err, 'LPX_CLI_EXISTS'), String(err)).toBe(true);
    expect((err as Error).message).toContain(name);
    expect(fs.readdirSync(dir)).toEqual([name]);
    expect(fs.readFileSync(path.join(dir, name), 'utf8')).toBe('mine\n');
  });

  it('a second init in the same folder fails and changes nothing', () => {
    const dir = tmp();
    init(dir);
    const before = Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    fs.appendFileSync(path.join(dir, 'config.lua'), '-- edited\n');
    expect(() => init(dir)).toThrow(/already exist/);
    expect(fs.readFileSync(path.join(dir, 'config.lua'), 'utf8')).toBe(before['config.lua'] + '-- edited\n');
  });

  it('when the folder given is a file, leaves it alone', () => {
    const dir = tmp();
    const file = path.join(dir, 'site');
    fs.writeFileSync(file, 'mine\n');
    expect(() => init(file)).toThrow(/is a file, not a folder/);
    expect(fs.readFileSync(file, 'utf8')).toBe('mine\n');
  });

  it('on the command line: one line on stderr, exit 1', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'config.lua'), 'mine\n');
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
    const saved = process.exitCode;
    try {
      await main(['node', 'luaproxy', 'init', dir]);
      expect(process.exitCode).toBe(1);
    } finally {
      process.stderr.write = write;
      process.exitCode = saved;
    }
    expect(err.join('').trimEnd().split('\n')).toEqual([expect.stringMatching(/config\.lua already exists; luaproxy init never overwrites/)]);
    expect(fs.readdirSync(dir)).toEqual(['config.lua']);
  });
});
