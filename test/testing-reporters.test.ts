import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '../src/testing/runner.js';
import { tap, junit } from '../src/testing/reporters.js';
import { testCommand } from '../src/commands/test.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-rep-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
fs.writeFileSync(path.join(dir, 'r.lua'), 'backends = { { name = "a", url = "http://127.0.0.1:1" } }\nfunction route(h, p) if p == "/x" then return nil end return "a" end\n');
const file = path.join(dir, 'r_test.lua');
fs.writeFileSync(file, 'routes {\n  { "h.example.com", "/", "a" },\n  { "h.example.com", "/x", "a" },\n}\ntest("<xml> & \\"quotes\\"", function() ok(true) end)\n');
const result = runTests([file]);

describe('machine-readable test output', () => {
  it('writes TAP 13 with a YAML block for each failure', () => {
    const out = tap(result);
    expect(out.split('\n').slice(0, 2)).toEqual(['TAP version 13', '1..3']);
    expect(out).toMatch(/\nok 1 - .*r_test\.lua: h\.example\.com \/\n/);
    expect(out).toMatch(/\nnot ok 2 - .*r_test\.lua: h\.example\.com \/x\n  ---\n  at: ".*r_test\.lua:3"\n  message: .*\n  expected: "backend \\"a\\""\n  actual: "no route \(route returned nil: 404\)"\n  returned: "nil"\n  \.\.\.\n/);
    expect(out).toMatch(/\nok 3 - /);
  });

  it('writes JUnit XML with file and line on each case and escaped text', () => {
    const out = junit(result);
    expect(out).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="luaproxy test" tests="3" failures="1"/);
    expect(out).toMatch(/<testcase classname="[^"]*r_test\.lua" name="h\.example\.com \/x" file="[^"]*r_test\.lua" line="3" time="[\d.]+">\n\s+<failure message="[^"]*r_test\.lua:3: expected backend &quot;a&quot;, got no route \(route returned nil: 404\)" type="routing">/);
    expect(out).toContain('name="&lt;xml&gt; &amp; &quot;quotes&quot;"');
  });

  it('writes the JUnit file beside the pretty output with --junit', () => {
    const xml = path.join(dir, 'report.xml');
    const r = testCommand([file], { junit: xml });
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/\n2 passed, 1 failed/);
    expect(fs.readFileSync(xml, 'utf8')).toMatch(/<testsuites [^>]*failures="1"/);
  });
});
