/**
 * The reload table is checked at load like every setting: shares from 0 to 1, an unknown
 * key gets "did you mean", and the defaults are max_failing 0.5, max_moved 1 (off),
 * fleet_max_moved 0.75.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';

const load = (settings: string) => loadConfig('guard.lua', { source: `${settings}\nfunction route(h, p) return nil end\n`, log: () => {} });

describe('the reload guard settings', () => {
  it('default to max_failing 0.5, max_moved 1 and fleet_max_moved 0.75', () => {
    expect(load('').settings.reload).toEqual({ max_failing: 0.5, max_moved: 1, fleet_max_moved: 0.75 });
    expect(load('reload = { max_moved = 0.2 }').settings.reload.max_moved).toBe(0.2);
  });

  it('refuse a share above 1 or below 0, and a misspelt key, with file:line', () => {
    expect(() => load('\nreload = { max_failing = 2 }')).toThrow('guard.lua:2: reload.max_failing: expected a share from 0 to 1 (1 turns the guard off), got number 2');
    expect(() => load('reload = { fleet_max_moved = -0.5 }')).toThrow(/reload\.fleet_max_moved: expected a number of 0 or more/);
    expect(() => load('reload = { max_failling = 0.1 }')).toThrow(/reload\.max_failling: unknown setting; did you mean "max_failing"/);
  });
});
