import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkHostProperties } from '../src/testing/properties.js';
import { parseSample } from '../src/testing/diff.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-props-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const examples = path.resolve(import.meta.dirname, '../examples');

const sample = parseSample([
  'ironhand.example.com /',
  'IronHand.example.com /login',
  'www.example.com /user/fred/webapps/IronHand.example.com/reload',
  'old.example.com /',
].join('\n'));

function script(name: string, route: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, `backends = {\n  { name = "a", url = "http://127.0.0.1:9001" },\n  { name = "b", url = "http://127.0.0.1:9002" },\n  { name = "c", url = "http://127.0.0.1:9003" },\n}\n${route}\n`);
  return f;
}

describe('luaproxy check --hosts: routing properties', () => {
  it('finds nothing wrong with the hosting example', () => {
    expect(checkHostProperties(path.join(examples, 'hosting.lua'), sample)).toEqual([]);
  });

  it('catches a host name inside the path that is hashed without lower-casing it', () => {
    const f = script('case.lua', 'function route(host, path)\n  local d = path:match("^/user/[^/]+/webapps/([^/]+)/reload$")\n  if d then return proxy.hash(d) end\n  return proxy.hash(host)\nend');
    const problems = checkHostProperties(f, sample);
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(/a host name in the path routes differently by letter case: www\.example\.com \/user\/fred\/webapps\/IronHand\.example\.com\/reload -> \w, but www\.example\.com \/user\/fred\/webapps\/\S+\/reload -> \w/);
  });

  it('catches a script that routes on the raw Host header', () => {
    const f = script('raw.lua', 'function route(host, path, req)\n  return proxy.hash(req.headers.host)\nend');
    const problems = checkHostProperties(f, parseSample('ironhand.example.com /\n'));
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(/^the host routes differently by letter case/);
  });

  it('catches a backend name that does not exist', () => {
    const f = script('missing.lua', 'function route(host, path)\n  if host == "old.example.com" then return "d" end\n  return "a"\nend');
    const problems = checkHostProperties(f, sample);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ host: 'old.example.com', path: '/' });
    expect(problems[0].message).toMatch(/a backend that does not exist: .*missing\.lua:6: route returned "d", which is not a backend/);
  });
});
