/**
 * The routing step, the same for every source of requests: prepare the call (a refusal
 * ends it with 400 and route is not called), make the one Lua call, and turn whatever
 * went wrong in it into an error decision (500). The proxy, the test API, `luaproxy
 * route` and a reload's dry run all come through here. With ACME on, a plain-HTTP request
 * for the token of a pending order (`/.well-known/acme-challenge/<token>`) is answered
 * here before route() runs; any other path, or a token that is not ours, goes on to route().
 */
import type { Config } from '../config/load.js';
import { LpxError, isLpxError } from '../core/errors.js';
import type { Decision } from '../core/decision.js';
import { watchdogProbe } from '../watchdog/probe.js';
import type { RouteCall } from './call.js';
import { Buffer } from 'node:buffer';

export function decide(cfg: Config, call: RouteCall): Decision {
  const refused = call.prepare();
  if (refused !== null) return refused;
  const host = call.hostBytes!;
  const path = call.pathBytes!;
  // ACME HTTP-01: a pending order's token is answered before route() runs; every other path goes on to route()
  if (cfg.acmeChallenge !== null && call.arrival.scheme === 'http' && startsWith(path, CHALLENGE_PREFIX)) {
    const answer = challengeAnswer(cfg.acmeChallenge, path);
    if (answer !== null) return answer;
  }
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

const CHALLENGE_PREFIX = Buffer.from('/.well-known/acme-challenge/');
const CHALLENGE_HEADERS: ReadonlyArray<readonly [string, string]> = Object.freeze([['content-type', 'application/octet-stream'], ['cache-control', 'no-store']] as const);

function startsWith(path: Uint8Array, prefix: Uint8Array): boolean {
  if (path.length <= prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false;
  return true;
}

/** the key authorization of a pending order's token, as a direct answer; null when the token is none of ours (route() decides) */
function challengeAnswer(lookup: (token: string) => string | null, path: Uint8Array): Decision | null {
  const token = Buffer.from(path.buffer, path.byteOffset + CHALLENGE_PREFIX.length, path.length - CHALLENGE_PREFIX.length).toString('latin1');
  const ka = lookup(token);
  return ka === null ? null : { kind: 'respond', status: 200, headers: CHALLENGE_HEADERS, body: Buffer.from(ka, 'latin1') };
}
