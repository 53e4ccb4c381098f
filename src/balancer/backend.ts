/**
 * The live state of one backend: what health checks, passive ejection, the operator
 * and the request path know about it. It outlives a reload when the new script keeps
 * a backend with the same name and URL.
 */

export type BackendStatus = 'up' | 'down' | 'drained';

export class BackendState {
  /** active health: false after `fall` failed checks, true again after `rise` good ones */
  healthy = true;
  /** set by the operator through the admin API; a drained backend gets no new requests */
  drained = false;
  /** passive ejection: unavailable until this time (ms since epoch) */
  ejectedUntil = 0;
  /** how many times in a row passive ejection has fired (grows the backoff) */
  ejections = 0;
  /** when the last ejection ran out (ms since epoch), to tell repeated ejections from fresh ones */
  lastEjectionEnd = 0;
  /** the last health-check result, for operators ("HTTP 503", "ECONNREFUSED", ...) */
  lastCheck: string | null = null;
  consecutiveFailures = 0;
  /** requests and upgraded tunnels in flight (what least_conn and random balance on) */
  inflight = 0;
  /** HTTP requests in flight through the forwarder: what the concurrency limit counts (tunnels hold no pool connection) */
  forwarding = 0;
  /** requests waiting in this backend's concurrency queue */
  queued = 0;
  requests = 0;
  failures = 0;
  retries = 0;
  lastError: string | null = null;
  lastErrorAt = 0;
  /** bumped whenever availability changes, so balancers can drop cached picks */
  onChange: (() => void) | null = null;

  constructor(
    readonly name: string,
    readonly url: string,
    public weight: number,
  ) {}

  get available(): boolean {
    return this.healthy && !this.drained && (this.ejectedUntil === 0 || this.ejectedUntil <= Date.now());
  }

  get status(): BackendStatus {
    if (this.drained) return 'drained';
    return this.available ? 'up' : 'down';
  }

  setHealthy(v: boolean): void {
    if (this.healthy === v) return;
    this.healthy = v;
    this.onChange?.();
  }

  setDrained(v: boolean): void {
    if (this.drained === v) return;
    this.drained = v;
    this.onChange?.();
  }

  eject(untilMs: number): void {
    this.ejectedUntil = untilMs;
    this.lastEjectionEnd = untilMs;
    this.ejections++;
    this.onChange?.();
  }

  /** plain data for `proxy.backends()`, the admin API and the test runner */
  view(): Record<string, string | number | boolean | null> {
    return {
      name: this.name,
      url: this.url,
      weight: this.weight,
      status: this.status,
      healthy: this.available,
      inflight: this.inflight,
      queued: this.queued,
      requests: this.requests,
      failures: this.failures,
      retries: this.retries,
      drained: this.drained,
      checks_ok: this.healthy,
      ejected: this.ejectedUntil > Date.now(),
      ejections: this.ejections,
      last_error: this.lastError,
      last_error_at: this.lastErrorAt ? this.lastErrorAt / 1000 : null,
      last_check: this.lastCheck,
    };
  }
}
