import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { diffScripts, generatedSample, parseSample } from '../src/testing/diff.js';
import { diffCommand } from '../src/commands/diff.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-testing-diff-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// A hash loop in Lua, then the backend chosen from it in one of two common ways:
// `modulo` takes h % n; `scaled` maps h onto n equal ranges (h * n / M).
const LUA_HASH = 'local h = 0\n  for i = 1, #host do h = (h * 31 + host:byte(i)) % 1000003 end';
function script(name: string, n: number, mode: 'modulo' | 'scaled' | 'hash'): string {
  const list = Array.from({ length: n }, (_, i) => `  { name = "b${i + 1}", url = "http://127.0.0.1:${19001 + i}" },`).join('\n');
  const route = mode === 'hash' ? 'function route(host, path) return proxy.hash(host) end'
    : `function route(host, path)\n  ${LUA_HASH}\n  return "b" .. (${mode === 'modulo' ? 'h % #backends' : 'h * #backends // 1000003'} + 1)\nend`;
  const f = path.join(dir, name);
  fs.writeFileSync(f, `backends = {\n${list}\n}\n${route}\n`);
  return f;
}

const sample = generatedSample(4000);

describe('luaproxy diff: the share of requests that move', () => {
  it('doubling 4 -> 8 backends moves most hosts with hash-scaled-to-count, about half with proxy.hash', () => {
    const scaled = diffScripts(script('s4.lua', 4, 'scaled'), script('s8.lua', 8, 'scaled'), sample);
    const ch = diffScripts(script('ch4.lua', 4, 'hash'), script('ch8.lua', 8, 'hash'), sample);
    // only keys in the first eighth keep their backend: 7/8 move
    expect(scaled.movedShare).toBeGreaterThanOrEqual(0.75);
    // the ideal for doubling is 1/2: each new backend takes 1/8 of the keys
    expect(ch.movedShare).toBeGreaterThan(0.45);
    expect(ch.movedShare).toBeLessThan(0.55);
    expect(ch.total).toBe(4000);
    expect(ch.before.map((s) => s.target)).toEqual(['b1', 'b2', 'b3', 'b4']);
    expect(ch.after.map((s) => s.target)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8']);
    expect(ch.after.reduce((a, s) => a + s.count, 0)).toBe(4000);
    expect(ch.spread.after).toBeGreaterThanOrEqual(1);
    expect(ch.spread.after).toBeLessThan(1.3);
  });

  it('adding one backend moves most hosts with h % n, about 1/(n+1) with proxy.hash', () => {
    const mod = diffScripts(script('m4.lua', 4, 'modulo'), script('m5.lua', 5, 'modulo'), sample);
    const ch = diffScripts(script('h4.lua', 4, 'hash'), script('h5.lua', 5, 'hash'), sample);
    expect(mod.movedShare).toBeGreaterThanOrEqual(0.75); // n/(n+1) = 80%
    expect(ch.movedShare).toBeGreaterThan(0.15);
    expect(ch.movedShare).toBeLessThan(0.25); // 1/(n+1) = 20%
    // h % n keeps exactly the keys with h % 8 < 4 when n doubles: half move, like proxy.hash
    const doubled = diffScripts(script('d4.lua', 4, 'modulo'), script('d8.lua', 8, 'modulo'), sample);
    expect(doubled.movedShare).toBeGreaterThan(0.45);
    expect(doubled.movedShare).toBeLessThan(0.55);
  });

  it('prints the moved share as a percentage first, and exits 1 above --max-moved', () => {
    const hosts = path.join(dir, 'hosts.txt');
    fs.writeFileSync(hosts, '# sample\n' + Array.from({ length: 2000 }, (_, i) => `app${i + 1}.example.com /`).join('\n') + '\n');
    const over = diffCommand(script('m5.lua', 5, 'modulo'), script('m6.lua', 6, 'modulo'), { hosts, maxMoved: '0.3' });
    expect(over.code).toBe(1);
    expect(over.output).toMatch(/^moved: (\d+\.\d)% of 2000 requests/);
    expect(Number(/^moved: ([\d.]+)%/.exec(over.output)![1])).toBeGreaterThan(70);
    expect(over.output).toMatch(/FAIL: .* above --max-moved 30\.0%/);
    const within = diffCommand(script('c5.lua', 5, 'hash'), script('c6.lua', 6, 'hash'), { hosts, maxMoved: '30%' });
    expect(within.code).toBe(0);
    expect(Number(/^moved: ([\d.]+)%/.exec(within.output)![1])).toBeLessThan(25);
    expect(within.output).toMatch(/\nb6 +- +\d+ +\d+\.\d%/);
    expect(within.output).toMatch(/load spread \(busiest backend \/ mean\): before \d\.\d\d, after \d\.\d\d/);
  });

  it('counts direct answers and no-route as destinations of their own', () => {
    const a = path.join(dir, 'a.lua');
    const b = path.join(dir, 'b.lua');
    fs.writeFileSync(a, 'backends = { { name = "x", url = "http://127.0.0.1:1" } }\nfunction route(h, p) return "x" end\n');
    fs.writeFileSync(b, 'backends = { { name = "x", url = "http://127.0.0.1:1" } }\nfunction route(h, p) if p == "/old" then return { status = 301, headers = { location = "/new" } } end if p == "/gone" then return nil end return "x" end\n');
    const r = diffScripts(a, b, parseSample('h.example.com /old\nh.example.com /gone\nh.example.com /\nh.example.com /x\n'));
    expect(r.moved).toBe(2);
    expect(r.after.map((s) => [s.target, s.count])).toEqual([['x', 2], ['answer 301', 1], ['no route (404)', 1]]);
  });
});
