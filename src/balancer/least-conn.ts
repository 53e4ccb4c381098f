/**
 * Least outstanding requests, weighted: the usable backend with the lowest
 * (in-flight + queued)/weight wins; ties go round robin so equal backends share evenly.
 */
import { usable, type Balancer } from './balancer.js';
import type { BackendState } from './backend.js';

export class LeastOutstanding implements Balancer {
  readonly name = 'least_conn';
  private next = 0;

  reset(): void {
    this.next = 0;
  }

  pick(backends: readonly BackendState[], _key: number, panic: boolean): number {
    const n = backends.length;
    if (n === 0) return -1;
    let best = -1;
    let bestLoad = Infinity;
    const start = this.next;
    this.next = (this.next + 1) % n;
    for (let j = 0; j < n; j++) {
      const i = (start + j) % n;
      const b = backends[i];
      if (!usable(b, panic)) continue;
      const load = (b.inflight + b.queued) / b.weight;
      if (load < bestLoad) { bestLoad = load; best = i; }
    }
    return best;
  }
}
