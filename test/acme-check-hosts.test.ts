/**
 * `luaproxy check --hosts` with ACME on: a name tls_allow allows (or acme.names lists)
 * that route() sends nowhere is reported, since a certificate would be ordered for a
 * name nobody serves; the hosting example has none.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkHostProperties } from '../src/testing/properties.js';
import { parseSample } from '../src/testing/diff.js';
import { execFile } from 'node:child_process';
import { BIN, builtBinaryExists } from './helpers/cluster.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-acme-hosts-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const sample = parseSample(['shop.customer-one.com /', 'Blog.Apps.Example.com /', 'stale.customer-three.net /', 'evil.example.org /'].join('\n'));

describe('check --hosts and tls_allow', () => {
  it('reports names tls_allow allows that route() sends nowhere, and acme.names too', () => {
    const f = path.join(dir, 'broad.lua');
    fs.writeFileSync(f, [
      'acme = { names = { "forgotten.example.com" } }',
      'backends = { { name = "a", url = "http://127.0.0.1:9001" } }',
      'function tls_allow(host) return host:find("%.net$") ~= nil or host == "shop.customer-one.com" end',
      'function route(host, path) if host == "shop.customer-one.com" then return "a" end end',
    ].join('\n'));
    const problems = checkHostProperties(f, sample).map((p) => p.message);
    expect(problems).toEqual([
      'tls_allow allows forgotten.example.com (a certificate would be ordered for it), but route() sends it nowhere: forgotten.example.com / -> no route (404)',
      'tls_allow allows stale.customer-three.net (a certificate would be ordered for it), but route() sends it nowhere: stale.customer-three.net / -> no route (404)',
    ]);
  });

  it('finds nothing wrong with examples/acme-hosting.lua', () => {
    expect(checkHostProperties(path.resolve(import.meta.dirname, '../examples/acme-hosting.lua'), sample)).toEqual([]);
  });

  it('says nothing about tls_allow when the script has no acme table', () => {
    const f = path.join(dir, 'off.lua');
    fs.writeFileSync(f, 'backends = {}\nfunction tls_allow(host) return true end\nfunction route() return nil end\n');
    expect(checkHostProperties(f, sample)).toEqual([]);
  });

  it('luaproxy check names the acme settings and where tls_allow is', async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, [BIN, 'check', 'examples/acme-hosting.lua'], { cwd: path.resolve(import.meta.dirname, '..'), encoding: 'utf8' }, (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout))));
    expect(out).toMatch(/; acme: 2 names, tls_allow at examples\/acme-hosting\.lua:\d+ \(https:\/\/acme-staging-v02\.api\.letsencrypt\.org\/directory\)\n$/);
  });
});
