import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// runs the built CLI (npm test builds first), as a user or CI would
const root = path.resolve(import.meta.dirname, '..');
const run = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/luaproxy.js'), ...args], { encoding: 'utf8', timeout: 30_000, cwd: root });

describe('luaproxy test and luaproxy diff on the command line', () => {
  it('runs the examples\' Lua tests and prints the summary line', () => {
    const files = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('_test.lua')).map((f) => `examples/${f}`);
    const r = run('test', ...files);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\n\d+ passed, 0 failed/);
  });

  it('exits 1 with TAP output when a test fails', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-cli-'));
    try {
      fs.writeFileSync(path.join(dir, 'x.lua'), 'backends = { "http://127.0.0.1:1" }\nfunction route(h, p) return nil end\n');
      fs.writeFileSync(path.join(dir, 'x_test.lua'), 'routes { { "h.example.com", "/", "127.0.0.1:1" } }\n');
      const r = run('test', '--reporter', 'tap', dir);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^TAP version 13\n1\.\.1\nnot ok 1 - /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('check --hosts exits 1 naming the request that routes differently by case', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-cli-'));
    try {
      fs.writeFileSync(path.join(dir, 'c.lua'), 'backends = { { name = "a", url = "http://127.0.0.1:1" }, { name = "b", url = "http://127.0.0.1:2" }, { name = "c", url = "http://127.0.0.1:3" }, { name = "d", url = "http://127.0.0.1:4" } }\nfunction route(h, p, req) return proxy.hash(req.headers.host) end\n');
      fs.writeFileSync(path.join(dir, 'hosts.txt'), 'ironhand.example.com /\nwww.example.com /\nblog.example.com /\n');
      const r = run('check', path.join(dir, 'c.lua'), '--hosts', path.join(dir, 'hosts.txt'));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the host routes differently by letter case: [\w.]+ \/ -> \w, but \S+ \/ -> \w/);
      const ok = run('check', 'examples/hosting.lua', '--hosts', path.join(dir, 'hosts.txt'));
      expect(ok.status).toBe(0);
      expect(ok.stdout).toMatch(/3 requests from .* route alike in any letter case/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('diff prints the moved share and guards a deploy with --max-moved', () => {
    const r = run('diff', 'examples/minimal.lua', 'examples/hosting.lua', '--max-moved', '0.5');
    expect(r.status).toBe(1); // every host moves: the backend names differ
    expect(r.stdout).toMatch(/^moved: 100\.0% of 10000 requests/);
    expect(run('diff', 'examples/hosting.lua', 'examples/hosting.lua', '--max-moved', '0').status).toBe(0);
  });
});
