import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { validateOwnTests } from '../src/routing/own-tests.js';
import { runTests } from '../src/testing/runner.js';
import { isLpxError } from '../src/core/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-own-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const head = 'backends = {\n  { name = "a", url = "http://127.0.0.1:9001" },\n  { name = "b", url = "http://127.0.0.1:9002" },\n}\nfunction route(host, path)\n  if path:find("^/b") then return "b" end\n  return "a"\nend\n';
function write(name: string, tests: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, head + tests);
  return f;
}

describe("a script's own `tests` global", () => {
  it('passes silently when every row holds', () => {
    const cfg = loadConfig(write('good.lua', 'tests = {\n  { "x.example.com", "/", "a" },\n  { host = "x.example.com", path = "/b", expect = "b" },\n}\n'));
    expect(() => validateOwnTests(cfg)).not.toThrow();
  });

  it('refuses the script with LPX_RELOAD_REFUSED at the line of the first failing row', () => {
    const cfg = loadConfig(write('config.lua', 'tests = {\n  { "x.example.com", "/", "a" },\n  { "x.example.com", "/b", "a" },\n  { "x.example.com", "/c", "b" },\n}\n'));
    let err: unknown;
    try { validateOwnTests(cfg); } catch (e) { err = e; }
    expect(isLpxError(err, 'LPX_RELOAD_REFUSED')).toBe(true);
    // head is 8 lines; `tests = {` is line 9, the failing rows are lines 11 and 12
    expect((err as Error).message).toMatch(/^(.*\/)?config\.lua:11: own test failed: route\("x\.example\.com", "\/b"\): expected backend "a", got backend "b" \(2 of 3 tests failed\)$/);
  });

  it('runs against a fresh copy, so the live backend state of the config does not matter and is not touched', () => {
    const cfg = loadConfig(write('state.lua', 'tests = {\n  { "x.example.com", "/", "a" },\n  { host = "x.example.com", down = "a", expect = "a" },\n}\n'));
    cfg.backendSet.byName.get('a')!.setHealthy(false); // the live proxy sees "a" down
    expect(() => validateOwnTests(cfg)).not.toThrow();
    expect(cfg.backendSet.byName.get('a')!.healthy).toBe(false);
    expect(cfg.backendSet.byName.get('b')!.healthy).toBe(true);
  });

  it('does nothing for a script without tests', () => {
    expect(() => validateOwnTests(loadConfig(write('none.lua', '')))).not.toThrow();
  });

  it('is run by `luaproxy test config.lua`', () => {
    const r = runTests([write('cli.lua', 'tests = {\n  { "x.example.com", "/", "a" },\n  { "x.example.com", "/b", "a" },\n}\n')]);
    expect([r.passed, r.failed]).toEqual([1, 1]);
    expect(r.files[0].tests[1].failure!.where).toMatch(/cli\.lua:11$/);
  });
});
