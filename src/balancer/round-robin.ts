/**
 * Smooth weighted round robin (as in nginx): each pick adds every usable backend's
 * weight to its current score, takes the highest, and subtracts the total from it. A
 * backend of weight 3 beside one of weight 1 gets a,a,b,a rather than a,a,a,b.
 */
import { usable, type Balancer } from './balancer.js';
import type { BackendState } from './backend.js';

export class SmoothRoundRobin implements Balancer {
  readonly name = 'round_robin';
  private current: number[] = [];

  reset(): void {
    this.current = [];
  }

  pick(backends: readonly BackendState[], _key: number, panic: boolean): number {
    if (this.current.length !== backends.length) this.current = new Array(backends.length).fill(0);
    let total = 0;
    let best = -1;
    for (let i = 0; i < backends.length; i++) {
      const b = backends[i];
      if (!usable(b, panic)) continue;
      this.current[i] += b.weight;
      total += b.weight;
      if (best < 0 || this.current[i] > this.current[best]) best = i;
    }
    if (best >= 0) this.current[best] -= total;
    return best;
  }
}
