/**
 * `luaproxy push`: publish a script (with its modules) or a backend list to the fleet.
 * Nothing is written unless the new version passes, here first, what every instance will
 * hold it to: it loads, passes `check` and the script's own tests, and its routing of
 * 10,000 sample hosts, compared with the version etcd holds, stays within the guard
 * (reload.max_failing, reload.fleet_max_moved) unless --force. Then one transaction
 * writes every key, guarded by the revision the push read: if any key of the version
 * changed since, nothing is written and the push fails naming both revisions, so two
 * operators pushing at once cannot silently overwrite each other.
 */
import os from 'node:os';
import path from 'node:path';
import type { Etcd3 } from 'etcd3';
import { loadConfig, LUA_LIB_DIR, type Config } from '../config/load.js';
import { LpxError, isLpxError } from '../core/errors.js';
import { destination } from '../core/decision.js';
import { checkCandidate, checkGuard, guardOf } from '../routing/gate.js';
import { RoutingScript } from '../routing/routing-script.js';
import { BACKENDS_KEY, MODULES_DIR, PUSHED_KEY, SCRIPT_KEY, isVersionKey, sourcesIn, versionOf, type Entry, type PushNote, type Version } from './version.js';

/** how many made-up hosts a push routes with the old and the new version */
export const SAMPLE_HOSTS = 10_000;

export interface Plan {
  /** the etcd revision the push read */
  readRevision: number;
  /** version keys as read, with their mod revisions (the transaction's guard) */
  read: Entry[];
  puts: Map<string, Buffer>;
  deletes: string[];
  note: PushNote;
  /** what the sample hosts showed, when etcd held a version to compare with */
  moved: { moved: number; compared: number; failing: number; succeeded: number } | null;
  /** files the script loaded that are not published (certificates, CA files: each instance reads them from its own disk) */
  skipped: string[];
  warnings: string[];
}

interface RawKv { key: Buffer; value: Buffer; mod_revision: string }

/** the version keys under the prefix, and the revision they were read at */
export async function readPublished(client: Etcd3, prefix: string): Promise<{ entries: Entry[]; revision: number }> {
  const res = await client.getAll().prefix(prefix).exec();
  const entries: Entry[] = [];
  for (const kv of res.kvs as RawKv[]) {
    const key = kv.key.toString('utf8').slice(prefix.length);
    if (isVersionKey(key)) entries.push({ key, value: kv.value, modRevision: Number(kv.mod_revision) });
  }
  return { entries, revision: Number(res.header.revision) };
}

/** a version from etcd loaded for routing only, as if its files were in a folder of their own */
function routingOf(v: Version, prefix: string): RoutingScript {
  const dir = path.join(os.tmpdir(), `luaproxy-etcd${prefix.replace(/[^A-Za-z0-9]+/g, '-')}${v.hash}`);
  return RoutingScript.load(path.join(dir, SCRIPT_KEY), { sources: sourcesIn(v, dir), overrides: v.backends !== undefined ? { backends: v.backends, backendsFrom: `${prefix}${BACKENDS_KEY}` } : undefined });
}

function loadOf(v: Version, prefix: string): Config {
  const dir = path.join(os.tmpdir(), `luaproxy-etcd${prefix.replace(/[^A-Za-z0-9]+/g, '-')}${v.hash}`);
  return loadConfig(path.join(dir, SCRIPT_KEY), { sources: sourcesIn(v, dir), log: () => {}, ...(v.backends !== undefined ? { backends: v.backends, backendsFrom: `${prefix}${BACKENDS_KEY}` } : {}) });
}

/** route the sample hosts with both versions: how many move, and how many good answers turn into 404/5xx */
function compare(before: RoutingScript, after: RoutingScript): NonNullable<Plan['moved']> {
  let moved = 0, failing = 0, succeeded = 0;
  for (let i = 0; i < SAMPLE_HOSTS; i++) {
    const host = `h${i}.example.com`;
    const a = before.decide(host, '/').decision;
    const b = after.decide(host, '/').decision;
    if (b.kind === 'error') throw new LpxError('LPX_FLEET_PUSH_REFUSED', `${b.error.message} (route(${JSON.stringify(host)}, "/") on a sample host); nothing was published`, { cause: b.error });
    if (destination(a) !== destination(b)) moved++;
    if (a.kind === 'backend' || (a.kind === 'respond' && a.status < 400)) {
      succeeded++;
      if (b.kind === 'none' || (b.kind === 'respond' && (b.status === 404 || b.status >= 500))) failing++;
    }
  }
  return { moved, compared: SAMPLE_HOSTS, failing, succeeded };
}

function note(what: PushNote['what'], force: boolean): PushNote {
  let user = 'unknown';
  try { user = os.userInfo().username; } catch { /* no passwd entry */ }
  return { at: new Date().toISOString(), by: `${user}@${os.hostname()}`, force, what };
}

/** refuse (LPX_FLEET_PUSH_REFUSED) what the instances would refuse, and compare with etcd's version */
function admit(next: Config, current: Version | null, prefix: string, force: boolean, what: string): Plan['moved'] {
  try {
    checkCandidate(next);
  } catch (e) {
    throw new LpxError('LPX_FLEET_PUSH_REFUSED', `${(e as Error).message}\nnothing was published: the ${what} fails its checks`, { cause: e });
  }
  if (!current || !current.files.has(SCRIPT_KEY)) return null;
  let live: Config;
  let before: RoutingScript;
  try {
    live = loadOf(current, prefix);
    before = routingOf(current, prefix);
  } catch {
    return null; // what etcd holds does not load (written around push): nothing to compare with
  }
  const after = RoutingScript.load(next.file, { sources: next.files, overrides: next.overrides });
  const m = compare(before, after);
  try {
    checkGuard(m, guardOf(live, 'fleet', force));
  } catch (e) {
    throw new LpxError('LPX_FLEET_PUSH_REFUSED', `${(e as Error).message.replace(/luaproxy reload --force|--force/, 'luaproxy push --force')} (of ${SAMPLE_HOSTS} sample hosts h0.example.com .. h${SAMPLE_HOSTS - 1}.example.com); nothing was published`, { cause: e });
  }
  return m;
}

/** plan publishing the script `file` and the modules it requires; etcd's backend list (if any) stays */
export async function planScript(client: Etcd3, prefix: string, file: string, opts: { force?: boolean } = {}): Promise<Plan> {
  const { entries, revision } = await readPublished(client, prefix);
  const current = entries.length ? versionOf(entries, prefix) : null;
  let next: Config;
  try {
    next = loadConfig(file, { log: () => {}, ...(current?.backends !== undefined ? { backends: current.backends, backendsFrom: `${prefix}${BACKENDS_KEY}` } : {}) });
  } catch (e) {
    throw new LpxError(isLpxError(e) ? e.code : 'LPX_FLEET_PUSH_REFUSED', `${(e as Error).message}\nnothing was published`, { cause: e });
  }
  const moved = admit(next, current, prefix, Boolean(opts.force), 'script');
  const dir = path.dirname(next.file);
  const puts = new Map<string, Buffer>();
  const skipped: string[] = [];
  for (const [abs, bytes] of next.files) {
    if (abs === next.file) { puts.set(SCRIPT_KEY, bytes); continue; }
    if (abs.startsWith(LUA_LIB_DIR + path.sep)) continue; // ships with luaproxy on every instance
    const rel = path.relative(dir, abs);
    if (abs.endsWith('.lua') && !rel.startsWith('..') && !path.isAbsolute(rel)) puts.set(MODULES_DIR + rel.split(path.sep).join('/'), bytes);
    else skipped.push(abs);
  }
  const deletes = entries.filter((e) => e.key.startsWith(MODULES_DIR) && !puts.has(e.key)).map((e) => e.key);
  return { readRevision: revision, read: entries, puts, deletes, note: note('script', Boolean(opts.force)), moved, skipped, warnings: [...next.warnings] };
}

/** plan publishing a backend list (the text of backends.json) under the script etcd holds */
export async function planBackends(client: Etcd3, prefix: string, text: string, from: string, opts: { force?: boolean } = {}): Promise<Plan> {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (e) {
    throw new LpxError('LPX_FLEET_PUSH_REFUSED', `${from}: expected a JSON list like [{ "name": "app1", "url": "http://10.0.0.5:8000", "weight": 1 }], got text that is not JSON: ${(e as Error).message}`);
  }
  const { entries, revision } = await readPublished(client, prefix);
  // a backend list in etcd that is not JSON (written around push) is what this push repairs: compare without it
  let current: Version | null;
  try {
    current = entries.length ? versionOf(entries, prefix) : null;
  } catch {
    current = versionOf(entries.filter((e) => e.key !== BACKENDS_KEY), prefix);
  }
  if (!current || !current.files.has(SCRIPT_KEY)) throw new LpxError('LPX_FLEET_PUSH_REFUSED', `etcd holds no script at ${prefix}${SCRIPT_KEY}: push the script first (luaproxy push config.lua --etcd URL), then its backend list`);
  const body = Buffer.from(JSON.stringify(list, null, 1));
  const candidate: Version = { ...current, backends: list, backendsText: body.toString('utf8') };
  let next: Config;
  try {
    next = loadOf(candidate, prefix);
  } catch (e) {
    throw new LpxError(isLpxError(e) ? e.code : 'LPX_FLEET_PUSH_REFUSED', `${(e as Error).message.split(`${prefix}${BACKENDS_KEY}`).join(from)}\nnothing was published`, { cause: e });
  }
  const moved = admit(next, current, prefix, Boolean(opts.force), 'backend list');
  return { readRevision: revision, read: entries, puts: new Map([[BACKENDS_KEY, body]]), deletes: [], note: note('backends', Boolean(opts.force)), moved, skipped: [], warnings: [...next.warnings] };
}

/**
 * Write the plan in one transaction, if no key of the version changed since the revision
 * the plan read (their mod revisions are compared, the script's and the backend list's
 * even when absent). Returns the revision written. Throws LPX_FLEET_CONFLICT otherwise.
 */
export async function commitPlan(client: Etcd3, prefix: string, plan: Plan): Promise<number> {
  const guarded = new Set([SCRIPT_KEY, BACKENDS_KEY, ...plan.read.filter((e) => e.key !== PUSHED_KEY).map((e) => e.key)]);
  const [first, ...rest] = [...guarded];
  let txn = client.if(prefix + first, 'Mod', '<', plan.readRevision + 1);
  for (const k of rest) txn = txn.and(prefix + k, 'Mod', '<', plan.readRevision + 1);
  const ops = [
    ...[...plan.puts].map(([k, v]) => client.put(prefix + k).value(v)),
    ...plan.deletes.map((k) => client.delete().key(prefix + k)),
    client.put(prefix + PUSHED_KEY).value(JSON.stringify(plan.note)),
  ];
  const res = await txn.then(...ops).commit();
  if (res.succeeded) return Number(res.header.revision);
  // say who won: the keys written after the revision this push read
  const now = await readPublished(client, prefix);
  const newer = now.entries.filter((e) => e.modRevision > plan.readRevision && e.key !== PUSHED_KEY);
  const pushed = now.entries.find((e) => e.key === PUSHED_KEY);
  let by = '';
  try { const n = JSON.parse(pushed?.value.toString('utf8') ?? 'null') as PushNote | null; if (n) by = ` (pushed by ${n.by} at ${n.at})`; } catch { /* not a note */ }
  const what = newer.length ? newer.map((e) => `${e.key} at revision ${e.modRevision}`).join(', ') : `a key deleted after revision ${plan.readRevision}`;
  throw new LpxError('LPX_FLEET_CONFLICT', `etcd changed since revision ${plan.readRevision}, which this push read: ${what}${by}. Nothing was written; look at what is published (luaproxy status --etcd URL) and push again`);
}
