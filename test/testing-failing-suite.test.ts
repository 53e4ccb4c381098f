import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '../src/testing/runner.js';
import { pretty } from '../src/testing/reporters.js';
import { testCommand } from '../src/commands/test.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-fail-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => { fs.writeFileSync(path.join(dir, name), text); return path.join(dir, name); };

write('app.lua', [
  'backends = { { name = "a", url = "http://127.0.0.1:9001" }, { name = "b", url = "http://127.0.0.1:9002" } }',
  'function route(host, path)',
  '  if path == "/boom" then local t = nil; return t.x end', // line 3: a script error
  '  if path == "/a" then return "b" end',                  // the bug the tests catch
  '  return "a"',
  'end',
].join('\n'));

const testFile = write('app_test.lua', [
  '-- line 1',
  'routes {',
  '  { "x.example.com", "/",  "a" },',        // line 3: passes
  '  --[[ a comment { with braces } ]] { "x.example.com", "/a", "a" },', // line 4: fails
  '  { "x.example.com", "/",',
  '    { status = 404 } },',                   // row starting on line 5: fails
  '}',
  '',
  'test("function form", function()',           // line 9
  '  expect_route("x.example.com", "/", "a")',
  '  expect_route("x.example.com", "/a", { backend = "a" })', // line 11: fails here
  '  expect_route("x.example.com", "/", "b")',  // never reached
  'end)',
  'test("script error", function()',            // line 14
  '  route("x.example.com", "/boom")',          // line 15
  'end)',
  'test("eq", function() eq({ 1, 2 }, { 1, 3 }) end)', // line 17
].join('\n'));

describe('luaproxy test: a failing suite', () => {
  const r = runTests([testFile]);
  const byName = (n: string) => r.files[0].tests.find((t) => t.name === n)!;

  it('counts passes and failures', () => {
    expect(r.passed).toBe(1);
    expect(r.failed).toBe(5);
  });

  it('reports a failing table row at its own line, with expected, actual and what route returned', () => {
    const rows = r.files[0].tests.filter((t) => t.failure && t.name.startsWith('x.example.com'));
    expect(rows).toHaveLength(2);
    expect(rows[0].failure!.where).toMatch(/app_test\.lua:4$/);
    expect(rows[1].failure!.where).toMatch(/app_test\.lua:5$/);
    expect(rows[0].failure).toMatchObject({ expected: 'backend "a"', actual: 'backend "b"', returned: '"b"' });
    expect(rows[1].failure).toMatchObject({ expected: 'answer 404', actual: 'backend "a"' });
  });

  it('reports a function test at the line of the failing expectation', () => {
    const f = byName('function form').failure!;
    expect(f.where).toMatch(/app_test\.lua:11$/);
    expect(f).toMatchObject({ expected: 'backend "a"', actual: 'backend "b"', returned: '"b"' });
    expect(byName('function form').where).toMatch(/app_test\.lua:9$/);
  });

  it("reports a script error at the script's line, with a traceback through it", () => {
    const f = byName('script error').failure!;
    expect(f.where).toMatch(/app_test\.lua:15$/);
    expect(f.message).toMatch(/app\.lua:3: attempt to index a nil value/);
    expect(f.traceback).toMatch(/app\.lua:3/);
  });

  it('shows values that differ for eq()', () => {
    expect(byName('eq').failure).toMatchObject({ expected: '{ 1, 3 }', actual: '{ 1, 2 }' });
    expect(byName('eq').failure!.where).toMatch(/app_test\.lua:17$/);
  });

  it('prints each failure with file:line and the summary, and exits 1', () => {
    const out = pretty(r);
    expect(out).toMatch(/FAIL .*app_test\.lua:4: x\.example\.com \/a\n\s+route\("x\.example\.com", "\/a"\)\n\s+expected: backend "a"\n\s+actual:   backend "b"\n\s+route returned: "b"/);
    expect(out).toMatch(/\n1 passed, 5 failed/);
    expect(testCommand([testFile]).code).toBe(1);
  });

  it('reports a broken test file at its line instead of running it', () => {
    const bad = write('bad_test.lua', 'routes {\n  { "x.example.com", "/", "a" },\n}\nlocal x = = 1\n');
    const b = runTests([bad]);
    expect(b.failed).toBe(1);
    expect(b.files[0].tests[0].failure!.where).toMatch(/bad_test\.lua:4$/);
  });

  it('reports an unknown backend in a simulation at the calling line', () => {
    const bad = write('sim_test.lua', 'script = "app.lua"\ntest("sim", function()\n  down("zzz")\nend)\n');
    const f = runTests([bad]).files[0].tests[0].failure!;
    expect(f.where).toMatch(/sim_test\.lua:3$/);
    expect(f.message).toMatch(/no backend named "zzz" \(backends: "a", "b"\)/);
  });
});
