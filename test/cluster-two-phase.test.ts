import { describe, it, expect } from 'vitest';
import { twoPhase, type Participant, type PrepareResult } from '../src/cluster/coordinator.js';

function part(label: string, prepared: PrepareResult | 'hang', log: string[]): Participant {
  return {
    label,
    prepare: () => (prepared === 'hang' ? new Promise(() => {}) : Promise.resolve(prepared)),
    commit: async () => { log.push(`commit ${label}`); },
    abort: () => { log.push(`abort ${label}`); },
  };
}

describe('two-phase reload across workers', () => {
  it('commits everywhere when every worker prepared the expected version', async () => {
    const log: string[] = [];
    const out = await twoPhase([part('w1', { ok: true, hash: 'h2' }, log), part('w2', { ok: true, hash: 'h2' }, log)], 'h2', 1000);
    expect(out.ok).toBe(true);
    expect(log.sort()).toEqual(['commit w1', 'commit w2']);
  });

  it('commits nowhere when one worker fails to prepare', async () => {
    const log: string[] = [];
    const out = await twoPhase([part('w1', { ok: true, hash: 'h2' }, log), part('w2', { ok: false, error: 'config.lua:3: boom' }, log)], 'h2', 1000);
    expect(out).toEqual({ ok: false, error: 'w2: config.lua:3: boom' });
    expect(log.sort()).toEqual(['abort w1', 'abort w2']);
  });

  it('commits nowhere when a worker loaded different bytes than the primary', async () => {
    const log: string[] = [];
    const out = await twoPhase([part('w1', { ok: true, hash: 'h2' }, log), part('w2', { ok: true, hash: 'h3' }, log)], 'h2', 1000);
    expect(out.ok).toBe(false);
    expect(log.some((l) => l.startsWith('commit'))).toBe(false);
  });

  it('commits nowhere when a worker does not answer in time', async () => {
    const log: string[] = [];
    const out = await twoPhase([part('w1', { ok: true, hash: 'h2' }, log), part('w2', 'hang', log)], 'h2', 100);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error).toMatch(/w2 did not finish loading/);
    expect(log.sort()).toEqual(['abort w1', 'abort w2']);
  });
});
