/**
 * Passive health: watches every backend attempt the proxy makes. `eject_after`
 * consecutive failures that were the backend's fault (connect errors and timeouts,
 * resets, header and body timeouts, 5xx answers) eject the backend for `eject_time`
 * seconds, doubled on each ejection that follows the previous one within `eject_max`
 * seconds, and capped at `eject_max`. When this process runs active checks the backend
 * also comes back only through them (`rise` good checks), after the backoff.
 *
 * It never ejects a backend when that would leave no backend available: with every
 * other backend already gone, ejecting the last one would only turn its occasional
 * successes into certain failures.
 */
import type { BackendState } from '../balancer/backend.js';
import type { BackendSet } from '../balancer/backend-set.js';
import type { Logger } from '../core/logger.js';
import type { HealthChecker } from './checker.js';

export interface EjectSettings {
  eject_after: number;
  eject_time: number;
  eject_max: number;
}

/** the part of a request exchange passive health reads (the proxy's Exchange fits) */
export interface AttemptLike {
  cfg: { backendSet: BackendSet; settings: { health: EjectSettings } };
}

export class PassiveHealth {
  constructor(private readonly log: Logger, private readonly checker: HealthChecker | null = null) {}

  /** a ProxyObserver: register it in the proxy's observer list */
  readonly observer = {
    backendOutcome: (x: AttemptLike, b: BackendState, ok: boolean, failure: { code: string } | null): void => {
      if (ok) {
        b.consecutiveFailures = 0;
        return;
      }
      if (failure === null) return; // the client's doing, not the backend's
      this.failed(x.cfg.backendSet, x.cfg.settings.health, b, failure.code);
    },
  };

  failed(set: BackendSet, hs: EjectSettings, b: BackendState, code: string): void {
    const now = Date.now();
    b.failures++;
    b.lastError = code;
    b.lastErrorAt = now;
    b.consecutiveFailures++;
    if (hs.eject_after <= 0 || b.consecutiveFailures < hs.eject_after) return;
    if (b.ejectedUntil > now || !b.available) return; // already out
    let others = 0;
    for (const o of set.list) if (o !== b && o.available) others++;
    if (others === 0) {
      if (b.consecutiveFailures === hs.eject_after) {
        this.log.warn({ backend: b.name, failures: b.consecutiveFailures, code }, `backend ${b.name} keeps failing (${code}) but is the last available backend; not ejecting it`);
      }
      return;
    }
    // a fresh start when the previous ejection ended long ago
    if (now - b.lastEjectionEnd > hs.eject_max * 1000) b.ejections = 0;
    const secs = Math.min(hs.eject_time * 2 ** b.ejections, hs.eject_max);
    b.consecutiveFailures = 0;
    b.eject(now + secs * 1000);
    const viaChecks = this.checker?.requireChecks(b, `ejected after ${hs.eject_after} failures in a row (${code})`) ?? false;
    this.log.warn({ backend: b.name, code, seconds: secs, ejections: b.ejections, via_checks: viaChecks },
      `backend ${b.name} ejected for ${secs}s after ${hs.eject_after} failures in a row (${code})${viaChecks ? '; it returns after that once its health checks pass' : ''}`);
  }
}
