/**
 * What keeps a proxy from hammering its ACME server (and from being banned by it): a
 * backoff per name after a failed order (1 minute, doubling up to a day), a cap on orders
 * in flight for all names (more wait their turn, in order), and a cap on orders started
 * per hour. Time is injectable, so the rules are tested without waiting.
 */

export const BACKOFF_FIRST_MS = 60_000;
export const BACKOFF_MAX_MS = 86_400_000;
const HOUR = 3_600_000;

export class OrderLimits {
  #inFlight = 0;
  readonly #waiting: Array<() => void> = [];
  /** start times of the orders of the last hour, oldest first */
  readonly #started: number[] = [];
  readonly #failures = new Map<string, { count: number; until: number }>();

  constructor(private caps: { inFlight: number; perHour: number }, private readonly now: () => number = Date.now) {}

  configure(caps: { inFlight: number; perHour: number }): void {
    this.caps = caps;
    this.#drain();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** until when `name` backs off (ms since the epoch), or 0 */
  backoffUntil(name: string): number {
    const f = this.#failures.get(name);
    return f && f.until > this.now() ? f.until : 0;
  }

  /** a failed order of `name`: its next try waits 1 min, 2, 4, ... up to a day; returns the wait in ms */
  failed(name: string): number {
    const count = (this.#failures.get(name)?.count ?? 0) + 1;
    const wait = Math.min(BACKOFF_FIRST_MS * 2 ** Math.min(count - 1, 20), BACKOFF_MAX_MS);
    this.#failures.set(name, { count, until: this.now() + wait });
    return wait;
  }

  succeeded(name: string): void {
    this.#failures.delete(name);
  }

  /** true when another order may start within the hourly rate (counts it); false when the rate is used up */
  takeRate(): boolean {
    const t = this.now();
    while (this.#started.length && this.#started[0] <= t - HOUR) this.#started.shift();
    if (this.#started.length >= this.caps.perHour) return false;
    this.#started.push(t);
    return true;
  }

  /** a slot among the orders in flight: resolves when one is free (in arrival order); call the returned function when done */
  async slot(): Promise<() => void> {
    if (this.#inFlight < this.caps.inFlight) this.#inFlight++;
    // a released slot is handed over as it is: the count stays
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release();
    };
  }

  #release(): void {
    if (this.#waiting.length && this.#inFlight <= this.caps.inFlight) this.#waiting.shift()!();
    else this.#inFlight--;
  }

  /** a raised cap lets waiting orders start */
  #drain(): void {
    while (this.#waiting.length && this.#inFlight < this.caps.inFlight) {
      this.#inFlight++;
      this.#waiting.shift()!();
    }
  }
}
