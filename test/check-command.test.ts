import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const bin = path.resolve(import.meta.dirname, '../bin/luaproxy.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });

function script(name: string, source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-check-'));
  const f = path.join(dir, name);
  fs.writeFileSync(f, source);
  return f;
}

describe('luaproxy check', () => {
  it('exits 0 and summarizes a good script', () => {
    const r = run('check', path.resolve(import.meta.dirname, '../examples/hosting.lua'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ok: listen 0\.0\.0\.0:8080, 4 backends \(web1, web2, web3, web4\), route at .*hosting\.lua:\d+/);
  });

  it('exits 1 with file:line for a syntax error, and no stack trace', () => {
    const f = script('broken.lua', 'listen = 1\nbackends = {"http://127.0.0.1:1"}\nfunction route(h, p)\n  return h..\nend\n');
    const r = run('check', f);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/broken\.lua:[45]: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 with "did you mean" for a misspelled setting', () => {
    const f = script('typo.lua', 'backends = {}\nhealth = { intervall = 3 }\nfunction route(h, p) return nil end\n');
    const r = run('check', f);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/typo\.lua:2: health\.intervall: unknown setting; did you mean "interval"\?$/);
  });

  it('exits 1 with one line for a missing file', () => {
    const r = run('check', '/nonexistent/config.lua');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot read the script: no such file/);
  });
});

describe('luaproxy route', () => {
  it('prints the decision and the normalized host it was made for', () => {
    const r = run('route', path.resolve(import.meta.dirname, '../examples/rewrite.lua'), 'WWW.Example.com:8080', '/api/users?x=1');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('route sees "www.example.com"');
    expect(r.stdout).toContain('decision: backend "api" (path "/users", ');
    // what the backend receives: the rewrite, with the query as sent
    expect(r.stdout).toContain('backend:  http://127.0.0.1:9001/users?x=1');
  });

  it('prints a direct response', () => {
    const r = run('route', path.resolve(import.meta.dirname, '../examples/rewrite.lua'), 'example.com', '/x', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).decision).toEqual({ kind: 'respond', status: 301, headers: { location: 'https://www.example.com/x' }, body: null });
  });
});
