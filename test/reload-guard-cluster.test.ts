/**
 * In a cluster the guard holds the sum of every worker's dry run, before any worker
 * switches: past reload.max_failing nobody commits and every worker drops what it
 * prepared (LPX_RELOAD_GUARD, with the cluster's figures); one worker's bad share
 * within a fine sum does not stop the reload.
 */
import { describe, it, expect } from 'vitest';
import { twoPhase, type Participant, type PrepareResult } from '../src/cluster/coordinator.js';
import { checkGuard } from '../src/routing/gate.js';

function part(label: string, prepared: PrepareResult, log: string[]): Participant {
  return {
    label,
    prepare: () => Promise.resolve(prepared),
    commit: async () => { log.push(`commit ${label}`); },
    abort: () => { log.push(`abort ${label}`); },
  };
}

const guard = { maxFailing: 0.5, maxMoved: 1, movedSetting: 'reload.max_moved' as const };

describe('the reload guard in a cluster', () => {
  it('refuses on the workers\' summed dry run and aborts everywhere', async () => {
    const log: string[] = [];
    const out = await twoPhase([
      part('w1', { ok: true, hash: 'h2', moved: 0, compared: 10, failing: 9, succeeded: 10 }, log),
      part('w2', { ok: true, hash: 'h2', moved: 0, compared: 10, failing: 8, succeeded: 10 }, log),
    ], 'h2', 1000, (sum) => checkGuard(sum, guard));
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.code).toBe('LPX_RELOAD_GUARD');
      expect(out.error).toContain('404 or 5xx to 17 of 20 recent successful requests (85%; the limit is 50%)');
    }
    expect(log.sort()).toEqual(['abort w1', 'abort w2']);
  });

  it('commits when the sum is within the limit, and reports the sum', async () => {
    const log: string[] = [];
    const out = await twoPhase([
      part('w1', { ok: true, hash: 'h2', moved: 1, compared: 10, failing: 9, succeeded: 10 }, log),
      part('w2', { ok: true, hash: 'h2', moved: 0, compared: 30, failing: 0, succeeded: 30 }, log),
    ], 'h2', 1000, (sum) => checkGuard(sum, guard));
    expect(out).toMatchObject({ ok: true, moved: 1, compared: 40, failing: 9, succeeded: 40 });
    expect(log.sort()).toEqual(['commit w1', 'commit w2']);
  });

  it('commits anything with the guard lifted (--force)', async () => {
    const log: string[] = [];
    const out = await twoPhase([part('w1', { ok: true, hash: 'h2', moved: 10, compared: 10, failing: 10, succeeded: 10 }, log)], 'h2', 1000, (sum) => checkGuard(sum, null));
    expect(out.ok).toBe(true);
  });
});
