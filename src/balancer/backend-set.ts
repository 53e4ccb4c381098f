/**
 * The backends of one config, in config order, with a balancer per strategy. Backend
 * states are shared with the previous config for backends that keep their name and URL,
 * so a reload keeps health, counters and in-flight counts.
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

  constructor(specs: readonly BackendSpecLike[], previous?: BackendSet | null, random: Random = Math.random) {
    this.list = specs.map((s) => {
      const old = previous?.byName.get(s.name);
      if (old && old.url === s.url) {
        old.weight = s.weight;
        return old;
      }
      return new BackendState(s.name, s.url, s.weight);
    });
    this.byName = new Map(this.list.map((b) => [b.name, b]));
    this.strategies = {
      round_robin: new SmoothRoundRobin(),
      least_conn: new LeastOutstanding(),
      random: new PowerOfTwo(random),
    };
    this.attach();
  }

  /** route availability changes of these states to this set's balancers (the newest set wins) */
  attach(): void {
    for (const b of this.list) b.onChange = () => { this.changed(); this.noteEjection(); };
  }

  changed(): void {
    this.hashBalancer.reset();
    for (const s of Object.values(this.strategies)) s.reset();
  }

  /** consistent hash of a key (bytes) over the available backends */
  hash(key: Uint8Array): number {
    this.expireEjections();
    return this.hashBalancer.pick(this.list, murmur3(key));
  }

  /** the failover order for a key: its hash choice first */
  hashCandidates(key: Uint8Array): number[] {
    return this.hashBalancer.candidates(this.list, murmur3(key));
  }

  pick(strategy: Strategy): number {
    this.expireEjections();
    return this.strategies[strategy].pick(this.list, 0);
  }

  private nextExpiry = Infinity;
  /** an ejection that has run out changes availability; drop cached picks once when it does */
  private expireEjections(): void {
    if (this.nextExpiry > Date.now()) return;
    this.nextExpiry = Infinity;
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
