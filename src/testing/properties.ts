/**
 * Properties every routing script should have, checked over a list of requests
 * (`luaproxy check --hosts FILE`): a host routes the same in any letter case, and so does
 * a host name that appears inside the path (the hosting platform's
 * /user/<name>/webapps/<domain>/reload URL); every backend name route returns exists; and
 * with ACME on, no name that tls_allow allows (or acme.names lists) is sent nowhere by
 * route(): a certificate ordered for a name nobody serves is a wasted order, and often a
 * tls_allow broader than the routing tables.
 */
import { RoutingScript } from '../routing/routing-script.js';
import type { SampleRequest } from './diff.js';
import { destination } from '../core/decision.js';

export interface PropertyProblem {
  host: string;
  path: string;
  /** the variant that routed differently, when the problem is a difference */
  variant?: SampleRequest;
  message: string;
}

/** a path segment that reads as a host name: labels joined by dots, the last one letters */
const HOST_SEGMENT = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\.?$/;

export function checkHostProperties(file: string, sample: SampleRequest[], opts: { source?: string | Buffer; limit?: number } = {}): PropertyProblem[] {
  const s = RoutingScript.load(file, { source: opts.source });
  const problems: PropertyProblem[] = [];
  const limit = opts.limit ?? 20;
  const dest = (host: string, path: string): { to?: string; error?: string } => {
    const { decision: d } = s.decide(host, path);
    if (d.kind !== 'error') return { to: destination(d) };
    return { error: d.error.code === 'LPX_ROUTE_NO_BACKEND' ? `a backend that does not exist: ${d.error.message}` : d.error.message };
  };
  for (const r of sample) {
    if (problems.length >= limit) break;
    const base = dest(r.host, r.path);
    if (base.error !== undefined) {
      problems.push({ ...r, message: `route failed: ${base.error}` });
      continue;
    }
    for (const v of variants(r)) {
      const d = dest(v.host, v.path);
      const got = d.error !== undefined ? `an error (${d.error})` : d.to;
      if (got !== base.to) {
        const where = v.host !== r.host ? 'the host' : 'a host name in the path';
        problems.push({ ...r, variant: v, message: `${where} routes differently by letter case: ${r.host} ${r.path} -> ${base.to}, but ${v.host} ${v.path} -> ${got}` });
        break;
      }
    }
  }
  for (const p of certificatesForNothing(s, sample)) {
    if (problems.length >= limit) break;
    problems.push(p);
  }
  return problems;
}

/** names tls_allow allows (and acme.names) that route() answers with no route, over HTTPS as their clients would come */
function certificatesForNothing(s: RoutingScript, sample: SampleRequest[]): PropertyProblem[] {
  const out: PropertyProblem[] = [];
  if (s.config.script.global('acme') === null) return out;
  const seen = new Set<string>();
  const candidates = [...s.config.settings.acme.names.map((host) => ({ host, path: '/' })), ...sample];
  for (const r of candidates) {
    const host = r.host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
    if (seen.has(host)) continue;
    seen.add(host);
    if (!s.tlsAllow(host)) continue;
    const { decision: d } = s.decide(host, r.path, { scheme: 'https', tls_sni: host });
    if (d.kind === 'none') out.push({ host, path: r.path, message: `tls_allow allows ${host} (a certificate would be ordered for it), but route() sends it nowhere: ${host} ${r.path} -> ${destination(d)}` });
  }
  return out;
}

function variants(r: SampleRequest): SampleRequest[] {
  const out: SampleRequest[] = [];
  for (const h of [r.host.toUpperCase(), r.host.toLowerCase(), mixed(r.host)]) if (h !== r.host) out.push({ host: h, path: r.path });
  const segs = r.path.split('/');
  segs.forEach((seg, i) => {
    if (!HOST_SEGMENT.test(seg)) return;
    for (const alt of [seg.toUpperCase(), seg.toLowerCase(), mixed(seg)]) {
      if (alt === seg) continue;
      const copy = segs.slice();
      copy[i] = alt;
      out.push({ host: r.host, path: copy.join('/') });
    }
  });
  return dedupe(out);
}

function mixed(s: string): string {
  let up = true;
  let out = '';
  for (const c of s) {
    if (/[a-z]/i.test(c)) {
      out += up ? c.toUpperCase() : c.toLowerCase();
      up = !up;
    } else out += c;
  }
  return out;
}

function dedupe(list: SampleRequest[]): SampleRequest[] {
  const seen = new Set<string>();
  return list.filter((r) => {
    const k = `${r.host} ${r.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
