/**
 * Per-backend concurrency limit with a bounded queue. A request that finds its backend
 * at the limit waits in that backend's FIFO queue; when the queue is full it is refused
 * at once, and when it waited longer than the queue timeout it is refused then. Either
 * way the client gets a fast 503 with Retry-After instead of joining a queue that grows
 * while the backend is stuck. Memory is bounded by limit + queue per backend.
 *
 * The hot path pays one comparison (`forwarding >= limit`); the waiter object and its
 * timer exist only for requests that actually wait.
 */
import type { BackendState } from '../balancer/backend.js';

export interface Waiter {
  /** start the request (a slot is free) */
  run(): void;
  /** refuse it: the queue is full (false) or the wait timed out (true) */
  refuse(timedOut: boolean): void;
}

interface Entry {
  w: Waiter;
  timer: NodeJS.Timeout;
}

export interface LimitSettings {
  backend_concurrency: number;
  backend_connections: number;
  queue: number;
  queue_timeout: number;
}

/** requests in flight to one backend at once; 0 = no limit */
export function concurrencyLimit(l: LimitSettings): number {
  return l.backend_concurrency > 0 ? l.backend_concurrency : l.backend_connections > 0 ? l.backend_connections : 0;
}

export class Limiter {
  private readonly queues = new Map<BackendState, Entry[]>();

  /**
   * Queue `w` for a slot of `state`, or refuse it at once when the queue is full.
   * Returns a cancel function (the client went away while waiting), or null when refused.
   */
  wait(state: BackendState, l: LimitSettings, w: Waiter): (() => void) | null {
    let q = this.queues.get(state);
    if (!q) { q = []; this.queues.set(state, q); }
    if (q.length >= l.queue) {
      w.refuse(false);
      return null;
    }
    const e: Entry = {
      w,
      timer: setTimeout(() => {
        if (this.remove(state, e)) w.refuse(true);
      }, l.queue_timeout * 1000),
    };
    q.push(e);
    state.queued++;
    return () => {
      if (this.remove(state, e)) clearTimeout(e.timer);
    };
  }

  private remove(state: BackendState, e: Entry): boolean {
    const q = this.queues.get(state);
    const i = q ? q.indexOf(e) : -1;
    if (i < 0) return false;
    q!.splice(i, 1);
    state.queued--;
    if (q!.length === 0) this.queues.delete(state);
    return true;
  }

  /** a request to `state` finished: start waiting ones while there are free slots */
  release(state: BackendState, limit: number): void {
    const q = this.queues.get(state);
    if (!q) return;
    while (q.length > 0 && (limit === 0 || state.forwarding < limit)) {
      const e = q.shift()!;
      state.queued--;
      clearTimeout(e.timer);
      e.w.run();
    }
    if (q.length === 0 && this.queues.get(state) === q) this.queues.delete(state);
  }

  /** requests waiting across all backends */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }
}
