/**
 * The last few failed requests (5xx), kept for the status page and /status so an
 * operator sees what went wrong without grepping logs. A fixed-size ring: adding is
 * O(1) and only happens on the error path.
 */
import type { Exchange } from '../proxy/exchange.js';

export interface RecentError {
  at: string;
  status: number;
  code: string | null;
  method: string;
  host: string;
  path: string;
  backend: string | null;
  retries: number;
  detail: string | null;
}

export class RecentErrors {
  private readonly ring: RecentError[] = [];
  private next = 0;
  /** errors seen since start (the ring keeps only the last `size`) */
  total = 0;

  constructor(private readonly size: number) {}

  add(x: Exchange): void {
    const host = x.hostBytes ? Buffer.from(x.hostBytes.buffer, x.hostBytes.byteOffset, x.hostBytes.length).toString('latin1') : (x.head.host ?? '');
    const e: RecentError = {
      at: new Date().toISOString(),
      status: x.status,
      code: x.error,
      method: x.method ?? '',
      host,
      path: x.path,
      backend: x.backend?.name ?? null,
      retries: x.retries,
      detail: x.errorDetail,
    };
    this.ring[this.next] = e;
    this.next = (this.next + 1) % this.size;
    this.total++;
  }

  /** newest first */
  list(): RecentError[] {
    const out: RecentError[] = [];
    for (let k = 1; k <= this.ring.length; k++) out.push(this.ring[(this.next - k + this.size) % this.size]);
    return out;
  }
}
