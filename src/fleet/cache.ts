/**
 * The local cache of a fleet instance: the last version that went live here, in one JSON
 * file (<cache>/version.json: the files base64, the backend list as etcd held it, the
 * revision and hash), replaced atomically (written beside it, then renamed over it). So
 * an instance that starts while etcd is unreachable serves the fleet's last good version
 * it saw, never a half-written one. One file and not a folder of .lua files: a rename
 * swaps a file in one step, and the version is only ever read whole.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LpxError } from '../core/errors.js';
import { hashOf, type Version } from './version.js';

const FILE = 'version.json';

interface Stored {
  format: 1;
  prefix: string;
  revision: number;
  hash: string;
  saved_at: string;
  files: Record<string, string>;
  backends: string | null;
}

/** the default cache folder for a prefix: $XDG_CACHE_HOME/luaproxy/<prefix> (or ~/.cache/...) */
export function defaultCacheDir(prefix: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const name = prefix.replace(/^\/+|\/+$/g, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'root';
  return path.join(base, 'luaproxy', name);
}

export function writeCache(dir: string, prefix: string, v: Version): void {
  fs.mkdirSync(dir, { recursive: true });
  const stored: Stored = {
    format: 1,
    prefix,
    revision: v.revision,
    hash: v.hash,
    saved_at: new Date().toISOString(),
    files: Object.fromEntries([...v.files].map(([k, b]) => [k, b.toString('base64')])),
    backends: v.backendsText,
  };
  const tmp = path.join(dir, `.${FILE}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(stored, null, 1));
  fs.renameSync(tmp, path.join(dir, FILE));
}

/** the cached version and when it was saved, or null when there is none; a damaged cache throws */
export function readCache(dir: string, prefix: string): { version: Version; savedAt: string } | null {
  const file = path.join(dir, FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LpxError('LPX_FLEET_CACHE', `${file}: cannot read the fleet cache: ${(e as Error).message}`, { cause: e });
  }
  let s: Stored;
  try {
    s = JSON.parse(text) as Stored;
    if (s.format !== 1 || typeof s.files !== 'object' || typeof s.files['config.lua'] !== 'string') throw new Error('not a luaproxy fleet cache');
  } catch (e) {
    throw new LpxError('LPX_FLEET_CACHE', `${file}: the fleet cache is damaged (${(e as Error).message}); delete it to start from etcd only`, { cause: e });
  }
  if (s.prefix !== prefix) throw new LpxError('LPX_FLEET_CACHE', `${file}: the cache holds a version of ${s.prefix}, not of ${prefix}; give each prefix its own --cache folder`);
  const files = new Map(Object.entries(s.files).map(([k, b64]) => [k, Buffer.from(b64, 'base64')]));
  const backends = s.backends === null ? undefined : JSON.parse(s.backends) as unknown;
  const version: Version = { files, backends, backendsText: s.backends, revision: s.revision, hash: hashOf(files, s.backends), pushed: null };
  return { version, savedAt: s.saved_at };
}
