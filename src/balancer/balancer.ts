/**
 * The interface every balancing strategy implements. A balancer sees the backends in
 * config order and answers an index, or -1 when none is usable. Randomness is injected
 * so distribution tests are deterministic.
 *
 * "Usable" means available (up, not drained, not ejected). In panic mode, when no
 * backend is available at all, every backend that is not drained counts as usable: the
 * request is tried anyway (health checks can be wrong) and fails fast if it must.
 */
import type { BackendState } from './backend.js';

export interface Balancer {
  readonly name: string;
  /** choose among `backends`; `key` is a 32-bit key hash for strategies that use one */
  pick(backends: readonly BackendState[], key: number, panic: boolean): number;
  /** the candidate order for `key` (first choice first), used to fail over to the next one */
  candidates?(backends: readonly BackendState[], key: number): number[];
  /** the backend list or availability changed */
  reset(): void;
}

export type Random = () => number;

/** whether a strategy may choose `b`: available, or in panic mode anything not drained */
export function usable(b: BackendState, panic: boolean): boolean {
  return panic ? !b.drained : b.available;
}

/** a small seeded PRNG (mulberry32) for deterministic test runs */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
