/**
 * The fleet as etcd sees it: every registered instance with the version it serves, the
 * version etcd holds now, and whether they all agree. `luaproxy status --etcd` prints it
 * as a table; an instance's admin /status shows the same under `fleet`.
 */
import type { Etcd3 } from 'etcd3';
import { INSTANCES_DIR, versionOf, type Entry } from './version.js';
import type { InstanceEntry } from './registration.js';

export interface FleetView {
  prefix: string;
  /** what etcd holds now (null: no script published) */
  published: { revision: number; hash: string; pushed_at: string | null; pushed_by: string | null } | null;
  instances: InstanceEntry[];
  drained: string[];
  /** every instance serves the same version */
  same_version: boolean;
  /** ... and it is the one etcd holds */
  converged: boolean;
}

interface RawKv { key: Buffer; value: Buffer; mod_revision: string }

export async function readFleet(client: Etcd3, prefix: string, timeoutMs = 3000): Promise<FleetView> {
  const res = await client.getAll().prefix(prefix).options({ deadline: Date.now() + timeoutMs }).exec();
  const entries: Entry[] = [];
  const instances: InstanceEntry[] = [];
  const drained: string[] = [];
  for (const kv of res.kvs as RawKv[]) {
    const key = kv.key.toString('utf8').slice(prefix.length);
    if (key.startsWith(INSTANCES_DIR)) {
      try { instances.push(JSON.parse(kv.value.toString('utf8')) as InstanceEntry); } catch { /* not ours */ }
    } else if (key.startsWith('drain/')) drained.push(key.slice('drain/'.length));
    else entries.push({ key, value: kv.value, modRevision: Number(kv.mod_revision) });
  }
  instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let published: FleetView['published'] = null;
  if (entries.some((e) => e.key === 'config.lua')) {
    let v;
    try { v = versionOf(entries, prefix); } catch { v = null; }
    published = v
      ? { revision: v.revision, hash: v.hash, pushed_at: v.pushed?.at ?? null, pushed_by: v.pushed?.by ?? null }
      : { revision: Math.max(...entries.map((e) => e.modRevision)), hash: '(backends is not JSON)', pushed_at: null, pushed_by: null };
  }
  const hashes = new Set(instances.map((i) => i.hash));
  const same = hashes.size <= 1;
  return { prefix, published, instances, drained, same_version: same, converged: same && instances.length > 0 && published !== null && hashes.has(published.hash) };
}

/** the view as a table and a verdict, for a terminal */
export function formatFleet(v: FleetView, now = Date.now()): string {
  const lines: string[] = [];
  lines.push(v.published
    ? `etcd ${v.prefix}: revision ${v.published.revision}, hash ${v.published.hash}${v.published.pushed_at ? `, pushed ${v.published.pushed_at} by ${v.published.pushed_by}` : ''}`
    : `etcd ${v.prefix}: no script published (push one with luaproxy push config.lua --etcd URL)`);
  if (v.drained.length) lines.push(`drained on the whole fleet: ${v.drained.join(', ')}`);
  const rows = [['INSTANCE', 'ADDRESS', 'REVISION', 'HASH', 'LIVE FOR', 'LAST REFUSAL']];
  for (const i of v.instances) {
    const r = i.last_refusal;
    rows.push([
      i.id,
      i.address,
      String(i.revision) + (i.from_cache ? ' (cache)' : ''),
      i.hash + (v.published && i.hash !== v.published.hash ? ' *' : ''),
      ago(i.live_since, now),
      r ? `rev ${r.revision} ${ago(r.at, now)} ago: ${r.code ?? ''} ${r.error.split('\n')[0].slice(0, 100)}` : '-',
    ]);
  }
  const width = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) lines.push(r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(width[c]))).join('  ').trimEnd());
  if (v.instances.length === 0) lines.push('(no instance registered)');
  else if (v.converged) lines.push(`every instance (${v.instances.length}) serves the same version, the one etcd holds`);
  else if (v.same_version) lines.push(`every instance (${v.instances.length}) serves the same version, but not the one etcd holds (refused, or still converging)`);
  else lines.push(`INSTANCES DISAGREE: ${new Set(v.instances.map((i) => i.hash)).size} versions in service (* marks those that are not etcd's)`);
  return lines.join('\n');
}

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(s)) return '?';
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}
