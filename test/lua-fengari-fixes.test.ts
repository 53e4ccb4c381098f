import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';

describe('fengari table keys (patched in src/lua/vm.ts)', () => {
  it('keeps strings with low bytes apart as table keys', () => {
    const cfg = loadConfig('keys.lua', { source: `
function route(host, path)
  local t = {}
  t["\\1\\35"] = "first"
  t["\\18\\3"] = "second"
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return { status = 200, body = t["\\1\\35"] .. " " .. t["\\18\\3"] .. " " .. n }
end` });
    const out = cfg.route(Buffer.from('h'), Buffer.from('/'), null);
    expect(out).toMatchObject({ kind: 'respond', body: Buffer.from('first second 2') });
  });

  it('still finds keywords and ordinary keys', () => {
    const cfg = loadConfig('kw.lua', { source: 'local t = { ["and"] = 1, x = 2 }\nfunction route(h, p) if t["and"] + t.x == 3 then return { status = 204 } end end' });
    expect(cfg.route(Buffer.from('h'), Buffer.from('/'), null)).toMatchObject({ kind: 'respond', status: 204 });
  });
});

describe('os.date (patched in src/lua/vm.ts)', () => {
  it('formats "!..." in UTC, without printing the "!"', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo'; // UTC+9, no daylight saving
    try {
      const cfg = loadConfig('date.lua', { source: 'function route(h, p) return { status = 200, body = os.date("!%H:%M", 0) .. " " .. os.date("%H:%M", 0) } end' });
      const out = cfg.route(Buffer.from('h'), Buffer.from('/'), null);
      expect(out).toMatchObject({ kind: 'respond', body: Buffer.from('00:00 09:00') });
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
