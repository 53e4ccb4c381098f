/**
 * Weighted random with power of two choices: draw two backends by weight and keep the
 * one with fewer requests in flight (per unit of weight). It spreads load nearly as well
 * as least-conn without any shared ordering, so many proxies using it do not herd.
 */
import { usable, type Balancer, type Random } from './balancer.js';
import type { BackendState } from './backend.js';

export class PowerOfTwo implements Balancer {
  readonly name = 'random';
  constructor(private readonly random: Random = Math.random) {}

  reset(): void {}

  private draw(backends: readonly BackendState[], total: number, panic: boolean): number {
    let r = this.random() * total;
    let last = -1;
    for (let i = 0; i < backends.length; i++) {
      const b = backends[i];
      if (!usable(b, panic)) continue;
      last = i;
      r -= b.weight;
      if (r < 0) return i;
    }
    return last;
  }

  pick(backends: readonly BackendState[], _key: number, panic: boolean): number {
    let total = 0;
    for (const b of backends) if (usable(b, panic)) total += b.weight;
    if (total === 0) return -1;
    const a = this.draw(backends, total, panic);
    const b = this.draw(backends, total, panic);
    const la = (backends[a].inflight + backends[a].queued) / backends[a].weight;
    const lb = (backends[b].inflight + backends[b].queued) / backends[b].weight;
    return lb < la ? b : a;
  }
}
