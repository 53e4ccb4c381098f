/**
 * Least outstanding requests, weighted: the available backend with the lowest
 * in-flight/weight wins; ties go round robin so equal backends share evenly.
 */
import type { Balancer } from './balancer.js';
import type { BackendState } from './backend.js';

export class LeastOutstanding implements Balancer {
  readonly name = 'least_conn';
  private next = 0;

  reset(): void {
    this.next = 0;
  }

  pick(backends: readonly BackendState[]): number {
    const n = backends.length;
    let best = -1;
    let bestLoad = Infinity;
    const start = this.next++ % Math.max(n, 1);
    for (let j = 0; j < n; j++) {
      const i = (start + j) % n;
      const b = backends[i];
      if (!b.available) continue;
      const load = (b.inflight + b.queued) / b.weight;
      if (load < bestLoad) { bestLoad = load; best = i; }
    }
    return best;
  }
}
