/**
 * The layering of docs/DESIGN (src/lua alone touches fengari; nothing below proxy/
 * imports it; runtime code never imports test tooling), checked on the import lines of
 * every source file, so a shortcut across layers fails here instead of in review.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '../src');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** every module a file imports (relative ones resolved to a path under src/, packages by name) */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)[^'"]*?from\s+'([^']+)'|require\('([^']+)'\)/gm)) {
    const spec = m[1] ?? m[2];
    out.push(spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)) : spec);
  }
  return out;
}

const all = files(SRC).map((f) => ({ file: path.relative(SRC, f), imports: imports(f) }));
const folder = (rel: string) => (rel.includes(path.sep) ? rel.split(path.sep)[0] : '');

describe('layering', () => {
  it('finds the source files and their imports (the check below has something to check)', () => {
    expect(all.length).toBeGreaterThan(50);
    expect(all.find((f) => f.file === path.join('proxy', 'server.ts'))?.imports).toContain(path.join('routing', 'decide.js'));
  });

  it('only src/lua imports fengari', () => {
    const bad = all.filter((f) => folder(f.file) !== 'lua' && f.imports.some((i) => i.startsWith('fengari')));
    expect(bad.map((f) => f.file)).toEqual([]);
  });

  it('nothing below proxy/ imports it (routing, reload, config, lua, balancer, health, http1, core, watchdog)', () => {
    const below = new Set(['routing', 'reload', 'config', 'lua', 'balancer', 'health', 'http1', 'core', 'watchdog']);
    const bad = all.filter((f) => below.has(folder(f.file)) && f.imports.some((i) => i.startsWith(`proxy${path.sep}`)));
    expect(bad.map((f) => f.file)).toEqual([]);
  });

  it('runtime code never imports test tooling (src/testing is used only by commands and the public API)', () => {
    const allowed = new Set(['testing', 'commands']);
    const bad = all.filter((f) => !allowed.has(folder(f.file)) && f.file !== 'index.ts' && f.imports.some((i) => i.startsWith(`testing${path.sep}`) || i.includes('vitest')));
    expect(bad.map((f) => f.file)).toEqual([]);
  });

  it('one routing step: only src/routing/decide.ts calls the Lua route of a Config', () => {
    const bad = all.filter((f) => f.file !== path.join('routing', 'decide.ts') && /\b(?:cfg|config|next|probe|old)\.route\(/.test(fs.readFileSync(path.join(SRC, f.file), 'utf8')));
    expect(bad.map((f) => f.file)).toEqual([]);
  });
});
