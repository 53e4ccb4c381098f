/**
 * The consistent-hash figures promised in docs/balancing.md, measured on 100k keys:
 * adding one backend to N moves at most 1.15x the ideal 1/(N+1) of the keys, for every
 * N from 4 to 64; the busiest backend gets at most 1.10x the mean; a key moves only
 * while its backend is unavailable; the choice is the same in every process.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { BackendState } from '../src/balancer/backend.js';
import { RendezvousHash } from '../src/balancer/rendezvous.js';
import { BackendSet } from '../src/balancer/backend-set.js';
import { murmur3 } from '../src/balancer/hash.js';

const KEYS = 100_000;
const enc = new TextEncoder();
const keyHashes = Array.from({ length: KEYS }, (_, i) => murmur3(enc.encode(`host-${i}.example.com`)));

function fleet(n: number, weight = 1): BackendState[] {
  return Array.from({ length: n }, (_, i) => new BackendState(`app${i + 1}`, `http://10.0.0.${i + 1}:8000`, weight));
}

function assign(list: BackendState[]): Int32Array {
  const h = new RendezvousHash();
  const out = new Int32Array(KEYS);
  for (let k = 0; k < KEYS; k++) out[k] = h.pick(list, keyHashes[k], false);
  return out;
}

describe('consistent hash (weighted rendezvous) on 100k keys', () => {
  const all = fleet(65);
  /** byN[n]: each key's backend among the first n backends */
  const byN: Int32Array[] = [];
  beforeAll(() => {
    for (let n = 4; n <= 65; n++) byN[n] = assign(all.slice(0, n));
  }, 180_000);

  it('adding one backend to N moves at most 1.15x the ideal 1/(N+1), for N = 4..64', () => {
    const ratios: Array<[number, number]> = [];
    for (let n = 4; n <= 64; n++) {
      const before = byN[n], after = byN[n + 1];
      let moved = 0;
      let elsewhere = 0;
      for (let k = 0; k < KEYS; k++) {
        if (after[k] !== before[k]) {
          moved++;
          if (after[k] !== n) elsewhere++; // a key may only move to the new backend
        }
      }
      expect(elsewhere).toBe(0);
      ratios.push([n, (moved / KEYS) * (n + 1)]);
    }
    expect(ratios.filter(([, r]) => r > 1.15)).toEqual([]);
  });

  it('keeps max/mean load at or under 1.10, for N = 4..64', () => {
    const bad: Array<[number, number]> = [];
    for (let n = 4; n <= 64; n++) {
      const count = new Array(n).fill(0);
      for (let k = 0; k < KEYS; k++) count[byN[n][k]]++;
      const ratio = Math.max(...count) / (KEYS / n);
      if (ratio > 1.1) bad.push([n, ratio]);
    }
    expect(bad).toEqual([]);
  });

  it('gives each backend a share of keys in proportion to its weight', () => {
    const list = [new BackendState('a', 'http://a:1', 1), new BackendState('b', 'http://b:1', 2), new BackendState('c', 'http://c:1', 5)];
    const a = assign(list);
    const count = [0, 0, 0];
    for (let k = 0; k < KEYS; k++) count[a[k]]++;
    expect(count[0] / KEYS).toBeCloseTo(1 / 8, 2);
    expect(count[1] / KEYS).toBeCloseTo(2 / 8, 2);
    expect(count[2] / KEYS).toBeCloseTo(5 / 8, 2);
  });

  it('moves only the keys of a backend that goes down, and moves them back when it returns', () => {
    const list = fleet(8);
    const set = new BackendSet(list.map((b) => ({ name: b.name, url: b.url, weight: 1 })));
    const keys = Array.from({ length: 5000 }, (_, i) => enc.encode(`h${i}.example.com`));
    const before = keys.map((k) => set.hash(k));
    set.list[3].setHealthy(false);
    const during = keys.map((k) => set.hash(k));
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === 3) expect(during[i]).not.toBe(3);
      else expect(during[i]).toBe(before[i]);
    }
    // each moved key goes to its second choice: the head of its failover order after 3
    for (let i = 0; i < keys.length; i++) if (before[i] === 3) expect(during[i]).toBe(set.hashCandidates(murmur3(keys[i]))[0]);
    set.list[3].setHealthy(true);
    expect(keys.map((k) => set.hash(k))).toEqual(before);
  });

  it('is deterministic across processes: fixed keys map to fixed backends', () => {
    const set = new BackendSet(['app1', 'app2', 'app3', 'app4'].map((name, i) => ({ name, url: `http://10.0.0.${i}:80`, weight: 1 })));
    const names = ['ironhand.example.com', 'www.example.org', 'a', 'shop.example.net', 'x.y.z'].map((h) => set.list[set.hash(enc.encode(h))].name);
    expect(names).toMatchInlineSnapshot(`
      [
        "app1",
        "app2",
        "app2",
        "app1",
        "app4",
      ]
    `);
  });
});
