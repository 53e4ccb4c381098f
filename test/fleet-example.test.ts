/**
 * examples/fleet stays runnable: its script loads with the backend list of backends.json
 * in its place (as every instance loads it from etcd) and passes its own tests, the module
 * it requires is found, and the README's commands use options the CLI has.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { checkCandidate } from '../src/routing/gate.js';
import { buildProgram } from '../src/cli.js';

const dir = path.resolve(import.meta.dirname, '../examples/fleet');

describe('examples/fleet', () => {
  it('loads with backends.json as the backend list and passes its own tests', () => {
    const list = JSON.parse(fs.readFileSync(path.join(dir, 'backends.json'), 'utf8')) as Array<{ name: string }>;
    const cfg = loadConfig(path.join(dir, 'config.lua'), { log: () => {}, backends: list, backendsFrom: 'backends.json' });
    expect(cfg.backends.map((b) => b.name)).toEqual(list.map((b) => b.name));
    expect([...cfg.files.keys()].map((f) => path.basename(f)).sort()).toEqual(['apps.lua', 'config.lua']);
    expect(() => checkCandidate(cfg)).not.toThrow();
    expect(cfg.settings.reload.fleet_max_moved).toBe(0.75);
  });

  it('its README uses commands and options the CLI has', () => {
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8').replace(/\\\n/g, ' ');
    const program = buildProgram();
    const commands = [...readme.matchAll(/^\s*luaproxy (\w+)([^\n&|#]*)/gm)];
    expect(commands.length).toBeGreaterThan(4);
    for (const m of commands) {
      const cmd = program.commands.find((c) => c.name() === m[1]);
      expect(cmd, m[0]).toBeDefined();
      for (const opt of m[2].match(/--[a-z-]+/g) ?? []) expect(cmd!.options.some((o) => o.long === opt), `${m[1]} ${opt}`).toBe(true);
    }
  });
});
