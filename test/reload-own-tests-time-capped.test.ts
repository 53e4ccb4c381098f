/**
 * A script's own `tests` run in the live process when it goes live (start, reload,
 * check): each row has route()'s budget, and the run as a whole has
 * script.own_tests_time. Before, 150 rows of 40 ms stalled live traffic for 5.7 s.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { validateOwnTests } from '../src/routing/own-tests.js';
import { isLpxError } from '../src/core/errors.js';

function slowScript(rows: number, ownTestsTime: number) {
  return `backends = { { name = "app", url = "http://127.0.0.1:9" } }
script = { own_tests_time = ${ownTestsTime} }
function route(host, path)
  local t = os.clock() while os.clock() - t < 0.04 do end
  return "app"
end
tests = {
${Array.from({ length: rows }, (_, i) => `  { "h${i}.example.com", "/", "app" },`).join('\n')}
}`;
}

describe('a script\'s own tests when it goes live', () => {
  it('are refused as a whole once they take longer than script.own_tests_time, naming the row reached', () => {
    const cfg = loadConfig('slow.lua', { source: slowScript(150, 0.5) });
    const t0 = performance.now();
    let err: unknown;
    try { validateOwnTests(cfg); } catch (e) { err = e; }
    const ms = performance.now() - t0;
    expect(isLpxError(err, 'LPX_RELOAD_REFUSED'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/^slow\.lua:\d+: the script's own tests took more than script\.own_tests_time \(0\.5 s\) after \d+ of 150 rows/);
    expect(ms).toBeLessThan(2000);
  });

  it('pass when they fit in the time', () => {
    expect(() => validateOwnTests(loadConfig('fast.lua', { source: slowScript(3, 2) }))).not.toThrow();
  });
});
