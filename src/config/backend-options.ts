/**
 * The connection options of one backend entry: how an https backend is verified (`ca`,
 * `verify`, `servername`) and whether each connection opens with a PROXY protocol header
 * (`proxy_protocol`). Read here so src/config/load.ts's readBackends stays about names,
 * URLs and weights; the connection pool (src/proxy/upstreams.ts) applies them.
 */
import net from 'node:net';
import { LpxError } from '../core/errors.js';
import type { LuaPlain } from '../lua/values.js';
import { readCaFile, type CaFile } from '../tls/ca-file.js';
import { describe } from './describe.js';

export const BACKEND_OPTION_FIELDS = ['ca', 'verify', 'servername', 'proxy_protocol'] as const;

export interface BackendOptions {
  /** https: the CA certificates the backend's certificate must chain to, instead of the default ones; null: node's default CAs */
  ca: CaFile | null;
  /** https: false accepts any certificate (a load warning says so) */
  verify: boolean;
  /** https: the SNI name sent and the name the certificate must carry; null: the URL's host when it is a name */
  servername: string | null;
  /** a PROXY protocol header with the client's addresses opens each connection, which then serves that request only */
  proxyProtocol: 'v1' | 'v2' | null;
}

export const NO_OPTIONS: BackendOptions = Object.freeze({ ca: null, verify: true, servername: null, proxyProtocol: null });

const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * The options of `entry` (a table entry of `backends`); `label` is 'backends[2]', `at(k)`
 * the `file:line: ` of field k. Files are resolved against `baseDir`; warnings go to `warnings`.
 */
export function readBackendOptions(
  entry: Record<string, LuaPlain>, label: string, url: string, secure: boolean,
  at: (field: string) => string, baseDir: string, warnings: string[],
): BackendOptions {
  const has = (k: string) => entry[k] !== undefined && entry[k] !== null;
  for (const k of ['ca', 'verify', 'servername'] as const) {
    if (has(k) && !secure) throw new LpxError('LPX_CONFIG_INVALID', `${at(k)}${label}.${k}: only for an https:// backend, got url ${JSON.stringify(url)}`);
  }
  const verify = entry.verify ?? true;
  if (typeof verify !== 'boolean') throw new LpxError('LPX_CONFIG_INVALID', `${at('verify')}${label}.verify: expected true or false, got ${describe(verify)}`);
  let ca: CaFile | null = null;
  if (has('ca')) {
    const v = entry.ca;
    if (typeof v !== 'string' || v === '') throw new LpxError('LPX_CONFIG_INVALID', `${at('ca')}${label}.ca: expected the path of a PEM file of CA certificates, got ${describe(v)}`);
    if (!verify) throw new LpxError('LPX_CONFIG_INVALID', `${at('ca')}${label}.ca: has no effect with verify = false; remove one of them`);
    ca = readCaFile(`${at('ca')}${label}.ca`, v, baseDir);
  }
  let servername: string | null = null;
  if (has('servername')) {
    const v = entry.servername;
    if (typeof v !== 'string' || net.isIP(v) !== 0 || !HOST_NAME.test(v)) {
      throw new LpxError('LPX_CONFIG_INVALID', `${at('servername')}${label}.servername: expected a host name like "api.internal" (SNI cannot carry an IP address), got ${describe(v)}`);
    }
    servername = v.toLowerCase().replace(/\.$/, '');
  }
  let proxyProtocol: BackendOptions['proxyProtocol'] = null;
  if (has('proxy_protocol')) {
    const v = entry.proxy_protocol;
    if (v !== 'v1' && v !== 'v2') throw new LpxError('LPX_CONFIG_INVALID', `${at('proxy_protocol')}${label}.proxy_protocol: expected "v1" or "v2", got ${describe(v)}`);
    proxyProtocol = v;
  }
  if (!verify) warnings.push(`${at('verify')}${label}.verify = false: the certificate of ${url} is not verified; anyone on the network path can pose as this backend`);
  return { ca, verify, servername, proxyProtocol };
}

