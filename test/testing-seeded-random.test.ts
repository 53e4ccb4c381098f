import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '../src/testing/runner.js';
import { loadRouting } from '../src/routing/routing-script.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-seed-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const script = path.join(dir, 'rnd.lua');
fs.writeFileSync(script, 'backends = { "http://127.0.0.1:9001", "http://127.0.0.1:9002", "http://127.0.0.1:9003", "http://127.0.0.1:9004" }\nfunction route(h, p) return proxy.random() end\n');

describe('randomness is seeded in test mode', () => {
  const draws = (seed?: number) => {
    const r = loadRouting(script, { seed });
    return Array.from({ length: 40 }, () => (r.route('h.example.com', '/') as { backend: string }).backend);
  };

  it('gives the same draws for the same seed, and again after reset()', () => {
    const a = draws();
    expect(draws()).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(1);
    const r = loadRouting(script);
    const first = Array.from({ length: 40 }, () => (r.route('h.example.com', '/') as { backend: string }).backend);
    r.reset();
    expect(Array.from({ length: 40 }, () => (r.route('h.example.com', '/') as { backend: string }).backend)).toEqual(first);
    expect(draws(7)).not.toEqual(a);
  });

  it('lets a Lua test pin a random choice, run after run', () => {
    const first = draws()[0];
    const t = path.join(dir, 'rnd_test.lua');
    fs.writeFileSync(t, `routes { { "h.example.com", "/", ${JSON.stringify(first)} } }\ntest("first draw", function() expect_route("h.example.com", "/", ${JSON.stringify(first)}) end)\n`);
    for (let i = 0; i < 3; i++) expect(runTests([t]).failed).toBe(0);
  });
});
