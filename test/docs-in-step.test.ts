import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { defaults } from '../src/config/defaults.js';
import { PROXY_FUNCTIONS } from '../src/lua/script.js';
import { loadConfig } from '../src/config/load.js';

function luaValue(v: unknown): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return `{ ${v.map(luaValue).join(', ')} }`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/lua-api.md'), 'utf8');

describe('docs/lua-api.md stays in step with the code', () => {
  it('documents every setting with its default', () => {
    for (const [table, fields] of Object.entries(defaults)) {
      for (const [key, value] of Object.entries(fields)) {
        const row = doc.split('\n').find((l) => l.startsWith(`| \`${table}.${key}\` |`));
        expect(row, `${table}.${key}`).toBeDefined();
        expect(row, `${table}.${key} default`).toContain(`| \`${luaValue(value)}\` |`);
      }
    }
  });

  it('documents every function of the proxy module', () => {
    for (const f of PROXY_FUNCTIONS) expect(doc, f).toContain(`proxy.${f}(`);
  });

  it('shows the misuse message it promises', () => {
    const cfg = loadConfig('m.lua', { source: 'backends = { "http://127.0.0.1:1" }\nfunction route(h, p)\n  return proxy.hash(nil)\nend' });
    expect(() => cfg.route(Buffer.from('h'), Buffer.from('/'), null)).toThrow("m.lua:3: bad argument #1 to 'hash' (string expected, got nil)");
    expect(doc).toContain("bad argument #1 to 'hash' (string expected, got nil)");
  });
});
