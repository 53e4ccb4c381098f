/**
 * The backends of one config, in config order, with a balancer per strategy. Backend
 * states are shared with the previous config for backends that keep their name and URL,
 * so a reload keeps health, counters and in-flight counts.
 *
 * When no backend is available (all down, ejected or drained), every strategy runs in
 * panic mode over the backends that are not drained: the request is tried anyway and
 * fails fast (503) if the backend really is gone. A key's hash picks a backend
 * (hashPick) and also gives its failover order (hashCandidates), so a request routed by
 * `proxy.hash(key)` fails over to the key's next candidate, not the Host's.
 */
import { BackendState } from './backend.js';
import type { Balancer, Random } from './balancer.js';
import { RendezvousHash } from './rendezvous.js';
import { SmoothRoundRobin } from './round-robin.js';
import { LeastOutstanding } from './least-conn.js';
import { PowerOfTwo } from './random.js';
import { murmur3 } from './hash.js';

export interface BackendSpecLike {
  name: string;
  url: string;
  weight: number;
}

export type Strategy = 'round_robin' | 'least_conn' | 'random';

export class BackendSet {
  readonly list: BackendState[];
  readonly byName: Map<string, BackendState>;
  private readonly hashBalancer = new RendezvousHash();
  private readonly strategies: Record<Strategy, Balancer>;
  /** -1 unknown, 0 no backend available (panic), 1 some available */
  private anyAvailable = -1;

  /** the weights this config gives its backends; applied to shared states when it goes live */
  private readonly weights: number[];

  /**
   * With `previous` (a reload), backends that keep their name and URL share its states,
   * but nothing about them changes until attach() is called when this set goes live: a
   * config that is refused must leave the live one exactly as it was.
   */
  constructor(specs: readonly BackendSpecLike[], previous?: BackendSet | null, random: Random = Math.random) {
    this.weights = specs.map((s) => s.weight);
    this.list = specs.map((s) => {
      const old = previous?.byName.get(s.name);
      if (old && old.url === s.url) return old;
      return new BackendState(s.name, s.url, s.weight);
    });
    this.byName = new Map(this.list.map((b) => [b.name, b]));
    this.strategies = {
      round_robin: new SmoothRoundRobin(),
      least_conn: new LeastOutstanding(),
      random: new PowerOfTwo(random),
    };
    if (!previous) this.attach();
  }

  /** this set goes live: apply its weights, and route availability changes of its states to its balancers */
  attach(): void {
    this.list.forEach((b, i) => {
      b.weight = this.weights[i];
      b.onChange = () => { this.changed(); this.noteEjection(); };
    });
    this.changed();
    this.noteEjection();
  }

  changed(): void {
    this.anyAvailable = -1;
    this.hashBalancer.reset();
    for (const s of Object.values(this.strategies)) s.reset();
  }

  /** true when no backend is available, so strategies choose among all that are not drained */
  get panic(): boolean {
    this.expireEjections();
    if (this.anyAvailable < 0) {
      this.anyAvailable = 0;
      for (const b of this.list) if (b.available) { this.anyAvailable = 1; break; }
    }
    return this.anyAvailable === 0;
  }

  /** the hash of a key (bytes), for hashPick and hashCandidates */
  hashKey(key: Uint8Array): number {
    return murmur3(key);
  }

  /** consistent hash of a key hash over the available backends */
  hashPick(keyHash: number): number {
    const panic = this.panic; // first: it also expires ejections that ran out
    return this.hashBalancer.pick(this.list, keyHash, panic);
  }

  /** consistent hash of a key (bytes) over the available backends */
  hash(key: Uint8Array): number {
    return this.hashPick(murmur3(key));
  }

  /** the failover order for a key hash (murmur3 of the key): its hash choice first, available ones before the rest */
  hashCandidates(key: number): number[] {
    return this.hashBalancer.candidates(this.list, key);
  }

  pick(strategy: Strategy): number {
    return this.strategies[strategy].pick(this.list, 0, this.panic);
  }

  private nextExpiry = Infinity;
  /** an ejection that has run out changes availability; drop cached picks once when it does */
  private expireEjections(): void {
    if (this.nextExpiry > Date.now()) return;
    this.nextExpiry = Infinity;
    const now = Date.now();
    for (const b of this.list) if (b.ejectedUntil !== 0 && b.ejectedUntil <= now) b.ejectedUntil = 0;
    this.changed();
    this.noteEjection();
  }

  /** called after an ejection so the set knows when availability will change next */
  noteEjection(): void {
    const now = Date.now();
    for (const b of this.list) if (b.ejectedUntil > now && b.ejectedUntil < this.nextExpiry) this.nextExpiry = b.ejectedUntil;
  }

  views(): Array<Record<string, string | number | boolean | null>> {
    return this.list.map((b) => b.view());
  }
}
