/**
 * A script loaded for testing: call its routing with a host and path as a client would
 * send them, and simulate backend state (down, drained, reweighted) to test failover.
 * No socket is opened. Hosts are normalized exactly as the proxy does, randomness is
 * seeded, and reset() puts every backend back as the script declares it. This is the
 * TypeScript API (`loadRouting`) and what `luaproxy test` runs every Lua test through.
 */
import { loadConfig, type Config } from '../config/load.js';
import { normalizeHost } from '../core/host.js';
import { normalizePath } from '../core/path.js';
import { LpxError } from '../core/errors.js';
import { seededRandom, type Random } from '../balancer/balancer.js';
import type { BackendState } from '../balancer/backend.js';
import type { LineCoverage } from '../lua/coverage.js';
import type { RequestLike, RouteOutcome } from '../lua/script.js';

/** what `route` decided, as plain data */
export type RouteResult =
  | { kind: 'backend'; backend: string; path: string | null; headers: Record<string, string | false> | null }
  | { kind: 'respond'; status: number; headers: Record<string, string> | null; body: string | null }
  /** route returned nil: the proxy answers 404 */
  | { kind: 'none'; status: 404 }
  /** the Host header is not a host name: the proxy answers 400 without calling route */
  | { kind: 'invalid_host'; status: 400 };

/** the parts of a request route() can read through `req` */
export interface RouteRequest {
  method?: string;
  /** the query string, without `?` */
  query?: string;
  headers?: Record<string, string>;
  /** the client address */
  client?: string;
}

export interface LoadRoutingOptions {
  /** seed for proxy.random (default 1) */
  seed?: number;
  /** the script's text instead of reading the file */
  source?: string | Buffer;
  /** print() and proxy.log() output; dropped by default */
  log?: (level: string, msg: string, where: string) => void;
  /** test mode: record which lines run */
  coverage?: LineCoverage;
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
    const config = loadConfig(file, { source: opts.source, log: opts.log ?? (() => {}), coverage: opts.coverage, random: () => current() });
    return new RoutingScript(config, seed, (r) => { current = r; });
  }

  /** the backend names, in config order */
  get names(): string[] {
    return this.config.backends.map((b) => b.name);
  }

  /**
   * What the proxy would do with a request for `host` (the Host header as a client
   * sends it: any case, with a port or a trailing dot) and `path` (a query after `?` goes
   * to req.query). Throws the script's LpxError when route fails.
   */
  route(host: string, path = '/', request: RouteRequest = {}): RouteResult {
    const h = normalizeHost(host);
    if (h === null) return { kind: 'invalid_host', status: 400 };
    const q = path.indexOf('?');
    // the path route sees, normalized exactly as the proxy does (/x/../admin is /admin)
    const bare = normalizePath(q < 0 ? path : path.slice(0, q));
    const query = request.query ?? (q < 0 ? undefined : path.slice(q + 1));
    const headers: Record<string, string> = { host };
    for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;
    const req: RequestLike = {
      method: (request.method ?? 'GET').toUpperCase(),
      url: query === undefined ? bare : `${bare}?${query}`,
      headers,
      socket: { remoteAddress: request.client ?? '127.0.0.1' },
    };
    return toResult(this.config.route(Buffer.from(h, 'latin1'), Buffer.from(bare, 'latin1'), req));
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

export function toResult(o: RouteOutcome): RouteResult {
  if (o.kind === 'backend') {
    return { kind: 'backend', backend: o.name, path: o.path, headers: o.headers ? Object.fromEntries(o.headers.map(([k, v]) => [k.toLowerCase(), v === null ? false : v])) : null };
  }
  if (o.kind === 'respond') {
    return { kind: 'respond', status: o.status, headers: o.headers ? Object.fromEntries(o.headers.map(([k, v]) => [k.toLowerCase(), v])) : null, body: o.body ? o.body.toString('utf8') : null };
  }
  return { kind: 'none', status: 404 };
}

/** one short line for a result, in the words a person reads: `backend "web1"`, `answer 301 (location: /x)` */
export function describeResult(r: RouteResult): string {
  switch (r.kind) {
    case 'backend': {
      const extra: string[] = [];
      if (r.path !== null) extra.push(`path ${JSON.stringify(r.path)}`);
      if (r.headers) extra.push(`headers ${luaTable(r.headers)}`);
      return `backend ${JSON.stringify(r.backend)}${extra.length ? ` (${extra.join(', ')})` : ''}`;
    }
    case 'respond': {
      const extra: string[] = [];
      if (r.headers) extra.push(`headers ${luaTable(r.headers)}`);
      if (r.body !== null) extra.push(`body ${JSON.stringify(r.body)}`);
      return `answer ${r.status}${extra.length ? ` (${extra.join(', ')})` : ''}`;
    }
    case 'none': return 'no route (route returned nil: 404)';
    case 'invalid_host': return 'invalid Host header (400; route is not called)';
  }
}

/** what route returned, in Lua syntax */
export function luaResult(r: RouteResult): string {
  switch (r.kind) {
    case 'backend':
      return r.path === null && r.headers === null ? JSON.stringify(r.backend)
        : luaTable({ backend: r.backend, ...(r.path !== null ? { path: r.path } : {}), ...(r.headers ? { headers: r.headers } : {}) });
    case 'respond':
      return luaTable({ status: r.status, ...(r.headers ? { headers: r.headers } : {}), ...(r.body !== null ? { body: r.body } : {}) });
    case 'none': return 'nil';
    case 'invalid_host': return '(not called: invalid Host header)';
  }
}

/** plain data written as a Lua table constructor */
export function luaTable(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `{ ${v.map(luaTable).join(', ')} }`;
  const parts = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `[${JSON.stringify(k)}]`} = ${luaTable(x)}`);
  return parts.length ? `{ ${parts.join(', ')} }` : '{}';
}
