/**
 * A script loaded for testing: call its routing with a host and path as a client would
 * send them, and simulate backend state (down, drained, reweighted) to test failover.
 * No socket is opened. A request goes through the proxy's own routing step (a RouteCall
 * handed to decide()), so a test sees exactly what production sees; randomness is
 * seeded, and reset() puts every backend back as the script declares it. This is the
 * TypeScript API (`loadRouting`), what `luaproxy test` runs every Lua test through, and
 * what a reload runs a script's own tests with.
 */
import { loadConfig, type Config, type LoadOverrides } from '../config/load.js';
import { LpxError } from '../core/errors.js';
import { toResult, type Decision, type RouteResult } from '../core/decision.js';
import { seededRandom, type Random } from '../balancer/balancer.js';
import type { BackendState } from '../balancer/backend.js';
import type { LineCoverage } from '../lua/coverage.js';
import { RouteCall, requestSource } from './call.js';
import { normalizeHost } from '../core/host.js';
import { decide } from './decide.js';

export type { RouteResult };

/** the parts of a request route() can read through `req` */
export interface RouteRequest {
  method?: string;
  /** the query string, without `?` */
  query?: string;
  headers?: Record<string, string>;
  /** the client address */
  client?: string;
  /** "http" (default) or "https" */
  scheme?: 'http' | 'https';
  /** "1.0", "1.1" (default) or "2" */
  http_version?: string;
  /** the TLS server name; default: none, or the host (without port) when scheme is https; false: a TLS client that sent none */
  tls_sni?: string | false;
}

export interface LoadRoutingOptions {
  /** seed for proxy.random (default 1) */
  seed?: number;
  /** the script's text instead of reading the file */
  source?: string | Buffer;
  /** the files of a loaded script (Config.files): load a copy of exactly those bytes */
  sources?: ReadonlyMap<string, Buffer>;
  /** print() and proxy.log() output; dropped by default */
  log?: (level: string, msg: string, where: string) => void;
  /** test mode: record which lines run */
  coverage?: LineCoverage;
  /** what replaces the script's backends or listen (a fleet instance's backend list from etcd: Config.overrides) */
  overrides?: LoadOverrides;
}

export class RoutingScript {
  private gen: Random;

  private constructor(readonly config: Config, private readonly seed: number, private readonly swap: (r: Random) => void) {
    this.gen = seededRandom(seed);
  }

  /** load a script; throws LpxError (LPX_CONFIG_*) with file:line when it is broken */
  static load(file: string, opts: LoadRoutingOptions = {}): RoutingScript {
    const seed = opts.seed ?? 1;
    let current = seededRandom(seed);
    const config = loadConfig(file, { ...opts.overrides, routingOnly: true, source: opts.source, sources: opts.sources, log: opts.log ?? (() => {}), coverage: opts.coverage, random: () => current() });
    return new RoutingScript(config, seed, (r) => { current = r; });
  }

  /** the backend names, in config order */
  get names(): string[] {
    return this.config.backends.map((b) => b.name);
  }

  /**
   * What the proxy would do with a request for `host` (the Host header as a client
   * sends it: any case, with a port or a trailing dot) and `path` (the request target as
   * sent: a path with an optional `?query`, or an http:// URL). Throws the script's
   * LpxError when route fails.
   */
  route(host: string, path = '/', request: RouteRequest = {}): RouteResult {
    return toResult(this.decide(host, path, request).decision);
  }

  /** the routing step for one request: the decision, and the call (what route saw, what the backend would get) */
  decide(host: string, path = '/', request: RouteRequest = {}): { decision: Decision; call: RouteCall } {
    let target = path;
    if (request.query !== undefined) {
      const q = path.indexOf('?');
      target = `${q < 0 ? path : path.slice(0, q)}?${request.query}`;
    }
    const src = { ...requestSource(request.method ?? 'GET', target, host, Object.entries(request.headers ?? {})), httpVersion: request.http_version };
    const scheme = request.scheme ?? 'http';
    // a browser sends the host it connects to, normalized as route sees it
    const sni = request.tls_sni === false ? null : request.tls_sni ?? (scheme === 'https' ? normalizeHost(host) : null);
    const call = new RouteCall(src, request.client ?? '127.0.0.1', { scheme, sni });
    return { decision: decide(this.config, call), call };
  }

  /** mark a backend down (failed health checks): proxy.hash and the balancers skip it */
  down(name: string): void {
    this.state(name).setHealthy(false);
  }

  /** mark a backend up again, and undrain it */
  up(name: string): void {
    const b = this.state(name);
    b.setHealthy(true);
    b.setDrained(false);
  }

  /** drain a backend, as the operator does: it gets no new requests */
  drain(name: string): void {
    this.state(name).setDrained(true);
  }

  /** change a backend's weight */
  weight(name: string, w: number): void {
    if (!(typeof w === 'number' && w > 0 && Number.isFinite(w))) throw new LpxError('LPX_TEST_USAGE', `weight of "${name}": expected a number above 0, got ${String(w)}`);
    this.state(name).weight = w;
    this.config.backendSet.changed();
  }

  /** every backend back as the script declares it (up, not drained, its own weight), balancers and randomness reset */
  reset(): void {
    for (const spec of this.config.backends) {
      const b = this.state(spec.name);
      b.healthy = true;
      b.drained = false;
      b.ejectedUntil = 0;
      b.ejections = 0;
      b.consecutiveFailures = 0;
      b.inflight = 0;
      b.queued = 0;
      b.weight = spec.weight;
    }
    this.config.backendSet.changed();
    this.gen = seededRandom(this.seed);
    this.swap(this.gen);
  }

  /** the backends as proxy.backends() shows them to the script */
  backends(): Array<Record<string, string | number | boolean | null>> {
    return this.config.backendSet.views();
  }

  /** tls_allow(host) as the proxy asks it: may `name` get a certificate by ACME (acme.names always may) */
  tlsAllow(name: string): boolean {
    return this.config.tlsAllow(name);
  }

  /** call a global function of the script with plain arguments */
  call(name: string, ...args: unknown[]): unknown[] {
    return this.config.script.callGlobal(name, args);
  }

  private state(name: string): BackendState {
    const b = this.config.backendSet.byName.get(name);
    if (!b) throw new LpxError('LPX_TEST_USAGE', `no backend named ${JSON.stringify(name)} (backends: ${this.names.map((n) => JSON.stringify(n)).join(', ') || 'none'})`);
    return b;
  }
}

/** load a script for testing its routing (see RoutingScript) */
export function loadRouting(file: string, opts: LoadRoutingOptions = {}): RoutingScript {
  return RoutingScript.load(file, opts);
}
