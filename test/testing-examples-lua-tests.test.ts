import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { testCommand } from '../src/commands/test.js';

const examples = path.resolve(import.meta.dirname, '../examples');

describe("the examples' own Lua tests (what CI runs through luaproxy test)", () => {
  it('every example config has a test file beside it', () => {
    const scripts = fs.readdirSync(examples).filter((f) => f.endsWith('.lua') && !/_test\.lua$/.test(f));
    for (const s of scripts) expect(fs.existsSync(path.join(examples, s.replace(/\.lua$/, '_test.lua'))), `${s} has no _test.lua`).toBe(true);
  });

  it('all pass, covering every line of the example scripts', () => {
    const files = fs.readdirSync(examples).filter((f) => f.endsWith('_test.lua')).map((f) => path.join(examples, f));
    const { code, output, result } = testCommand(files, { minCoverage: '100' });
    expect(result.failed, output).toBe(0);
    expect(result.passed).toBeGreaterThanOrEqual(30);
    expect(output).toMatch(/\n\d+ passed, 0 failed/);
    expect(code).toBe(0);
  });
});
