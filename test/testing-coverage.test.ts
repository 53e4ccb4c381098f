import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '../src/testing/runner.js';
import { testCommand } from '../src/commands/test.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-cov-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

fs.writeFileSync(path.join(dir, 'lib.lua'), [
  'local M = {}',                          // 1
  'function M.tag(x)',                     // 2
  '  return x .. "!"',                     // 3 never runs
  'end',                                   // 4 creates the function (Lua puts a closure at its `end`)
  'return M',                              // 5
].join('\n') + '\n');

fs.writeFileSync(path.join(dir, 'known.lua'), [
  'backends = { { name = "a", url = "http://127.0.0.1:9001" } }', // 1
  'local lib = require("lib")',                                  // 2
  'local function helper(x)',                                    // 3
  '  return x .. "!"',                                           // 4 never runs
  'end',                                                         // 5 creates helper
  'function route(host, path)',                                  // 6
  '  if path == "/x" then',                                      // 7
  '    return "a"',                                              // 8
  '  end',                                                       // 9
  '  return nil',                                                // 10 never runs
  'end',                                                         // 11 creates route; its own implicit return is not counted
].join('\n') + '\n');

const testFile = path.join(dir, 'known_test.lua');
fs.writeFileSync(testFile, 'routes { { "h.example.com", "/x", "a" } }\n');

describe('luaproxy test --coverage', () => {
  it('reports which lines of the script and of the modules it requires ran, per file', () => {
    const r = runTests([testFile], { coverage: true });
    expect(r.failed).toBe(0);
    const byFile = Object.fromEntries(r.coverage!.map((c) => [path.basename(c.file), c]));
    expect(byFile['known.lua']).toMatchObject({ executable: [1, 2, 4, 5, 6, 7, 8, 10, 11], hit: [1, 2, 5, 6, 7, 8, 11] });
    expect(byFile['lib.lua']).toMatchObject({ executable: [1, 2, 3, 4, 5], hit: [1, 2, 4, 5] });
  });

  it('prints the per-file table and fails below --min-coverage', () => {
    const ok = testCommand([testFile], { minCoverage: '70' });
    expect(ok.output).toMatch(/known\.lua\s+77\.8%\s+\(7\/9 lines\)\s+missed: 4, 10\n/);
    expect(ok.output).toMatch(/lib\.lua\s+80\.0%\s+\(4\/5 lines\)\s+missed: 3\n/);
    expect(ok.output).toMatch(/total\s+78\.6%\s+\(11\/14 lines\)/);
    expect(ok.code).toBe(0);
    const low = testCommand([testFile], { minCoverage: '80' });
    expect(low.code).toBe(1);
    expect(low.output).toMatch(/coverage 78\.6% is below --min-coverage 80%/);
  });

  it('leaves coverage off unless asked', () => {
    expect(runTests([testFile]).coverage).toBeNull();
  });
});
