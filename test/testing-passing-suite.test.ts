import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '../src/testing/runner.js';
import { pretty } from '../src/testing/reporters.js';
import { loadRouting } from '../src/routing/routing-script.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-pass-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

fs.writeFileSync(path.join(dir, 'site.lua'), `
backends = {
  { name = "a", url = "http://127.0.0.1:9001" },
  { name = "b", url = "http://127.0.0.1:9002" },
  { name = "c", url = "http://127.0.0.1:9003" },
}
function route(host, path, req)
  if host == "old.example.com" then return { status = 301, headers = { location = "https://new.example.com" .. path } } end
  if path == "/private" then return nil end
  if req.method == "POST" and path == "/upload" then return { backend = "c", path = "/in", headers = { ["x-up"] = "1" } } end
  if path:find("^/a/") then return "a" end
  return proxy.hash(host)
end
function double(x) return x * 2 end
`);

fs.writeFileSync(path.join(dir, 'site_test.lua'), `
routes {
  { "Old.Example.com:8080", "/x",       { status = 301, headers = { location = "https://new.example.com/x" } } },
  { "www.example.com",      "/private", false },
  { "www.example.com",      "/private", NO_ROUTE },
  { "www.example.com",      "/a/b",     "a" },
  { host = "www.example.com", path = "/upload", method = "POST", expect = { backend = "c", path = "/in", headers = { ["x-up"] = "1" } } },
  { host = "www.example.com", path = "/a/b", down = { "a" }, expect = "a" },
}

routes("failover", {
  { host = "h.example.com", expect = HOME },
})

test("failover moves a host off a down backend and back", function()
  local home = route("h.example.com", "/").backend
  down(home)
  local other = route("h.example.com", "/").backend
  ok(other ~= home, "moved off the down backend")
  up(home)
  expect_route("H.EXAMPLE.COM.", "/", home)
  eq(call("double", 21), 42)
end)

test("each test starts with every backend up", function()
  for _, b in ipairs(backends()) do eq(b.status, "up", b.name) end
end)
`);
// the failover row names the host's home backend, as the script's own hashing decides it
const home = (loadRouting(path.join(dir, 'site.lua')).route('h.example.com', '/') as { backend: string }).backend;
const file = path.join(dir, 'site_test.lua');
fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('HOME', JSON.stringify(home)));

describe('luaproxy test: a passing suite', () => {
  it('runs table rows and function tests and counts them all as passed', () => {
    const r = runTests([file]);
    expect(r.files[0].tests.filter((t) => t.failure).map((t) => t.failure)).toEqual([]);
    expect(r.passed).toBe(9);
    expect(r.failed).toBe(0);
    expect(r.files[0].script).toMatch(/site\.lua$/);
    expect(pretty(r)).toMatch(/\n9 passed, 0 failed/);
  });

  it('gives the same result on every run', () => {
    const strip = (x: ReturnType<typeof runTests>) => x.files.map((f) => f.tests.map((t) => [t.name, t.failure]));
    expect(strip(runTests([file]))).toEqual(strip(runTests([file])));
  });
});
