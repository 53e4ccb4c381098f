import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadRouting } from '../src/routing/routing-script.js';

const SCRIPT = `backends = { { name = "app", url = "http://127.0.0.1:1" }, { name = "admin", url = "http://127.0.0.1:2" } }
function route(host, path)
  if path:find("^/admin") then return "admin" end
  return "app"
end`;

function file(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-norm-'));
  const f = path.join(dir, 'config.lua');
  fs.writeFileSync(f, SCRIPT);
  return f;
}

describe('tests and `luaproxy route` see the path the proxy gives route()', () => {
  it('normalizes dot-segments and escaped unreserved characters in the TypeScript API, as the proxy does', () => {
    const r = loadRouting(file());
    expect(r.route('x', '/x/../admin/users')).toMatchObject({ kind: 'backend', backend: 'admin' });
    expect(r.route('x', '/%61dmin')).toMatchObject({ kind: 'backend', backend: 'admin' });
    expect(r.route('x', '/public')).toMatchObject({ kind: 'backend', backend: 'app' });
  });

  it('shows the normalized path in `luaproxy route`', () => {
    const bin = path.resolve(import.meta.dirname, '../bin/luaproxy.js');
    const out = spawnSync(process.execPath, [bin, 'route', file(), 'x', '/x/../admin?y=1'], { encoding: 'utf8', timeout: 20_000 });
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('"/x/../admin" -> route sees "/admin"');
    expect(out.stdout).toContain('decision: backend "admin"');
  });
});
