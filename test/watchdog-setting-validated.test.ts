/**
 * `watchdog = { kill_after = ... }` is a number of seconds: 0 (off) or at least 1 (a
 * shorter one would take a long GC pause for a stall). Wrong values and misspelt keys are
 * refused with file:line, like every other setting.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { loadProblem } from './helpers/config.js';

const ROUTE = '\nfunction route(h, p) return nil end\n';

function problem(source: string): string {
  const e = loadProblem(source);
  return `${e.code} ${e.message}`;
}

describe('watchdog.kill_after', () => {
  it('defaults to 10 seconds and takes 0 or a number of seconds', () => {
    expect(loadConfig('config.lua', { source: ROUTE }).settings.watchdog.kill_after).toBe(10);
    expect(loadConfig('config.lua', { source: `watchdog = { kill_after = 0 }${ROUTE}` }).settings.watchdog.kill_after).toBe(0);
    expect(loadConfig('config.lua', { source: `watchdog = { kill_after = 2.5 }${ROUTE}` }).settings.watchdog.kill_after).toBe(2.5);
  });

  it('refuses a negative number, a string, and less than a second', () => {
    expect(problem(`watchdog = { kill_after = -1 }${ROUTE}`)).toBe('LPX_CONFIG_INVALID config.lua:1: watchdog.kill_after: expected a number of 0 or more, got number -1');
    expect(problem(`watchdog = { kill_after = "10s" }${ROUTE}`)).toBe('LPX_CONFIG_INVALID config.lua:1: watchdog.kill_after: expected a number of 0 or more, got string "10s"');
    expect(problem(`watchdog = { kill_after = 0.5 }${ROUTE}`)).toBe('LPX_CONFIG_INVALID config.lua:1: watchdog.kill_after: expected 0 (off) or a number of seconds of 1 or more, got number 0.5');
  });

  it('says "did you mean" for a misspelt key or table', () => {
    expect(problem(`watchdog = { kill_afer = 5 }${ROUTE}`)).toBe('LPX_CONFIG_INVALID config.lua:1: watchdog.kill_afer: unknown setting; did you mean "kill_after"?');
    expect(problem(`watchdgo = { kill_after = 5 }${ROUTE}`)).toBe('LPX_CONFIG_INVALID config.lua:1: unknown setting "watchdgo"; did you mean "watchdog"?');
  });
});
