/**
 * The routing step, the same for every source of requests: prepare the call (a refusal
 * ends it with 400 and route is not called), make the one Lua call, and turn whatever
 * went wrong in it into an error decision (500). The proxy, the test API, `luaproxy
 * route` and a reload's dry run all come through here.
 */
import type { Config } from '../config/load.js';
import { LpxError, isLpxError } from '../core/errors.js';
import type { Decision } from '../core/decision.js';
import { watchdogProbe } from '../watchdog/probe.js';
import type { RouteCall } from './call.js';

export function decide(cfg: Config, call: RouteCall): Decision {
  const refused = call.prepare();
  if (refused !== null) return refused;
  const host = call.hostBytes!;
  const path = call.pathBytes!;
  watchdogProbe.request(host, path); // what the watchdog names if this call stalls the loop
  let d: Decision;
  try {
    d = cfg.route(host, path, call);
  } catch (e) {
    return { kind: 'error', error: isLpxError(e) ? e : new LpxError('LPX_ROUTE_ERROR', String((e as Error)?.message ?? e), { cause: e }) };
  }
  if (d.kind === 'backend' && d.path !== null) call.rewrite(d.path);
  return d;
}
