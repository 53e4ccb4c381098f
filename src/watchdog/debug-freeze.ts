/**
 * A way to stall the event loop on purpose, to see the watchdog work: with
 * LUAPROXY_DEBUG_FREEZE=<ms> in the environment, SIGUSR2 makes the main thread spin for
 * that many milliseconds. Debug only: off unless the variable is set, and nothing a
 * script can reach (a script cannot set the environment or send signals).
 */
import type { Logger } from '../core/logger.js';

export const FREEZE_ENV = 'LUAPROXY_DEBUG_FREEZE';

let installed = false;

/** true when the hook is on */
export function installDebugFreeze(log: Logger): boolean {
  const v = process.env[FREEZE_ENV];
  if (!v || installed) return installed;
  const ms = Number(v);
  if (!Number.isFinite(ms) || ms <= 0) {
    log.warn(`${FREEZE_ENV}: expected milliseconds above 0, got ${JSON.stringify(v)}; the debug freeze stays off`);
    return false;
  }
  installed = true;
  log.warn({ freeze_ms: ms }, `${FREEZE_ENV} is set: SIGUSR2 blocks this process's event loop for ${ms} ms (debugging the watchdog; never set it in production)`);
  process.on('SIGUSR2', () => {
    log.warn({ freeze_ms: ms }, `debug freeze: blocking the event loop for ${ms} ms`);
    const end = Date.now() + ms;
    while (Date.now() < end) { /* spin */ }
  });
  return true;
}
