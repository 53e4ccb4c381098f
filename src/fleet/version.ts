/**
 * What a fleet version is, in etcd and in memory. Under the prefix (default /luaproxy/):
 *
 *   config.lua            the script
 *   lua/<path>.lua        the modules it requires (`require "lib.hash"` -> lua/lib/hash.lua)
 *   backends              optional JSON list of { name, url, weight }: replaces the script's own
 *   pushed                JSON about the last `luaproxy push` (who, when, --force), written with it
 *   drain/<name>          present: backend <name> is drained on every instance
 *   instances/<id>        each instance's registration (under a lease)
 *
 * A Version is the first three (plus `pushed`) read at one revision: the files keyed by
 * their path relative to the script's folder, the backend list, the etcd revision of its
 * newest key, and a content hash that is the same on every instance (Config.hash is not:
 * it hashes absolute paths, and each instance keeps its files in its own folder).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { LpxError } from '../core/errors.js';

export const DEFAULT_PREFIX = '/luaproxy/';
export const SCRIPT_KEY = 'config.lua';
export const BACKENDS_KEY = 'backends';
export const PUSHED_KEY = 'pushed';
export const MODULES_DIR = 'lua/';
export const DRAIN_DIR = 'drain/';
export const INSTANCES_DIR = 'instances/';

/** the --etcd-prefix, ending with "/" */
export function normalizePrefix(p: string | undefined): string {
  const v = p ?? DEFAULT_PREFIX;
  if (!v.startsWith('/')) throw new LpxError('LPX_CLI_USAGE', `--etcd-prefix: expected a key prefix starting with "/", like "/luaproxy/", got ${JSON.stringify(v)}`);
  return v.endsWith('/') ? v : `${v}/`;
}

/** what the last push said about itself */
export interface PushNote {
  at: string;
  by: string;
  /** push --force: the instances lift their guard for this version */
  force: boolean;
  what: 'script' | 'backends';
}

export interface Version {
  /** relative path in the script's folder ("config.lua", "util.lua", "lib/hash.lua") -> bytes */
  files: Map<string, Buffer>;
  /** the parsed `backends` key, or undefined when absent */
  backends: unknown;
  /** the raw `backends` value (for the cache and the hash), or null */
  backendsText: string | null;
  /** the largest mod revision among the version's keys (0: nothing in etcd) */
  revision: number;
  /** sha256 of the version's keys and bytes, first 12 hex digits: equal on every instance that serves it */
  hash: string;
  /** the push note, when it was written in the same transaction as the newest key */
  pushed: PushNote | null;
}

/** one key-value as read from etcd, the key relative to the prefix */
export interface Entry {
  key: string;
  value: Buffer;
  modRevision: number;
}

/** is `key` (relative to the prefix) part of a version (as opposed to drain/ or instances/ keys)? */
export function isVersionKey(key: string): boolean {
  return key === SCRIPT_KEY || key === BACKENDS_KEY || key === PUSHED_KEY || (key.startsWith(MODULES_DIR) && key.endsWith('.lua'));
}

/** the version in a set of entries (relative keys); `backends` that is not JSON throws, with the key named */
export function versionOf(entries: Iterable<Entry>, prefix: string): Version {
  const files = new Map<string, Buffer>();
  let backendsText: string | null = null;
  let revision = 0;
  let pushed: { note: unknown; rev: number } | null = null;
  for (const e of entries) {
    if (!isVersionKey(e.key)) continue;
    if (e.key === PUSHED_KEY) { pushed = { note: safeJson(e.value.toString('utf8')), rev: e.modRevision }; continue; }
    revision = Math.max(revision, e.modRevision);
    if (e.key === SCRIPT_KEY) files.set(SCRIPT_KEY, e.value);
    else if (e.key === BACKENDS_KEY) backendsText = e.value.toString('utf8');
    else files.set(e.key.slice(MODULES_DIR.length), e.value);
  }
  let backends: unknown = undefined;
  if (backendsText !== null) {
    try {
      backends = JSON.parse(backendsText);
    } catch (err) {
      throw new LpxError('LPX_CONFIG_INVALID', `${prefix}${BACKENDS_KEY}: expected a JSON list like [{ "name": "app1", "url": "http://10.0.0.5:8000", "weight": 1 }], got text that is not JSON: ${(err as Error).message}`);
    }
  }
  const note = pushed && pushed.rev === revision && isNote(pushed.note) ? pushed.note : null;
  return { files, backends, backendsText, revision, hash: hashOf(files, backendsText), pushed: note };
}

export function hashOf(files: ReadonlyMap<string, Buffer>, backendsText: string | null): string {
  const h = crypto.createHash('sha256');
  for (const [k, v] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.update(k).update('\0').update(v).update('\0');
  if (backendsText !== null) h.update('\0backends\0').update(backendsText);
  return h.digest('hex').slice(0, 12);
}

/** the files of a version at absolute paths under `dir` (what loadConfig's `sources` takes) */
export function sourcesIn(v: Version, dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [rel, bytes] of v.files) out.set(path.join(dir, ...rel.split('/')), bytes);
  return out;
}

function safeJson(t: string): unknown {
  try { return JSON.parse(t); } catch { return null; }
}

function isNote(v: unknown): v is PushNote {
  return typeof v === 'object' && v !== null && typeof (v as PushNote).force === 'boolean';
}
