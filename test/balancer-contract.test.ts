/**
 * One contract for every balancing strategy behind the Balancer interface: what each
 * must do with unavailable backends, panic mode, weights and determinism. A strategy
 * that cannot honour a clause must say why in a skip.
 */
import { describe, it, expect } from 'vitest';
import { BackendState } from '../src/balancer/backend.js';
import { seededRandom, type Balancer } from '../src/balancer/balancer.js';
import { RendezvousHash } from '../src/balancer/rendezvous.js';
import { SmoothRoundRobin } from '../src/balancer/round-robin.js';
import { LeastOutstanding } from '../src/balancer/least-conn.js';
import { PowerOfTwo } from '../src/balancer/random.js';
import { fmix32 } from '../src/balancer/hash.js';

const strategies: Array<[string, () => Balancer]> = [
  ['hash (weighted rendezvous)', () => new RendezvousHash()],
  ['round_robin (smooth weighted)', () => new SmoothRoundRobin()],
  ['least_conn (least outstanding)', () => new LeastOutstanding()],
  ['random (weighted power of two)', () => new PowerOfTwo(seededRandom(42))],
];

function fleet(weights: number[]): BackendState[] {
  return weights.map((w, i) => new BackendState(`b${i}`, `http://127.0.0.1:${9000 + i}`, w));
}

/** picks with a varying key (only the hash strategy uses it) */
function picks(bal: Balancer, list: BackendState[], n: number, panic = false): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(bal.pick(list, fmix32(i + 1), panic));
  return out;
}

describe.each(strategies)('balancer contract: %s', (_name, make) => {
  it('answers -1 when there are no backends', () => {
    expect(make().pick([], 123, false)).toBe(-1);
    expect(make().pick([], 123, true)).toBe(-1);
  });

  it('never picks a backend that is down, drained or ejected while another is available', () => {
    const list = fleet([1, 1, 1, 1]);
    list[0].setHealthy(false);
    list[1].setDrained(true);
    list[2].eject(Date.now() + 60_000);
    const bal = make();
    expect(new Set(picks(bal, list, 500))).toEqual(new Set([3]));
  });

  it('answers -1 when no backend is available, outside panic mode', () => {
    const list = fleet([1, 1]);
    list[0].setHealthy(false);
    list[1].setHealthy(false);
    expect(new Set(picks(make(), list, 50))).toEqual(new Set([-1]));
  });

  it('in panic mode picks among the backends that are not drained', () => {
    const list = fleet([1, 1, 1]);
    list[0].setHealthy(false);
    list[1].setDrained(true);
    list[2].eject(Date.now() + 60_000);
    const got = new Set(picks(make(), list, 300, true));
    expect(got.has(1)).toBe(false);
    expect([...got].every((i) => i === 0 || i === 2)).toBe(true);
    expect(got.size).toBeGreaterThan(0);
  });

  it('in panic mode answers -1 when every backend is drained', () => {
    const list = fleet([1, 1]);
    for (const b of list) b.setDrained(true);
    expect(new Set(picks(make(), list, 20, true))).toEqual(new Set([-1]));
  });

  it('uses a backend again once it is back and reset() was called', () => {
    const list = fleet([1, 1, 1]);
    const bal = make();
    list[1].setHealthy(false);
    bal.reset();
    expect(picks(bal, list, 300)).not.toContain(1);
    list[1].setHealthy(true);
    bal.reset();
    expect(picks(bal, list, 300)).toContain(1);
  });

  it('shares requests in proportion to weight (closed loop, 12 requests outstanding)', () => {
    const list = fleet([1, 2, 3, 2]);
    const bal = make();
    const inflight: number[] = [];
    const count = [0, 0, 0, 0];
    const N = 24_000;
    for (let i = 0; i < N; i++) {
      if (inflight.length >= 12) list[inflight.shift()!].inflight--;
      const k = bal.pick(list, fmix32(i + 1), false);
      count[k]++;
      list[k].inflight++;
      inflight.push(k);
    }
    const total = 8;
    for (let k = 0; k < 4; k++) expect(Math.abs(count[k] / N - list[k].weight / total)).toBeLessThan(0.05);
  });

  it('is deterministic: two fresh instances given the same inputs pick the same backends', () => {
    const a = picks(make(), fleet([1, 3, 2]), 200);
    const b = picks(make(), fleet([1, 3, 2]), 200);
    expect(a).toEqual(b);
  });
});
