/**
 * Helpers for tests of the admin listener: its URL on a test proxy, and a tiny reader
 * of the Prometheus text format so tests assert on sample values, not on text.
 */
import type { TestProxy } from './proxy.js';
import { get } from './http.js';

/** `admin = { listen = "127.0.0.1:0" }`, to put in a test script */
export const ADMIN_ON_LOOPBACK = 'admin = { listen = "127.0.0.1:0" }\n';

export function adminUrl(p: TestProxy): string {
  const a = p.running.admin?.address;
  if (!a) throw new Error('the test proxy has no admin listener');
  return `http://127.0.0.1:${a.port}`;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** parse Prometheus text exposition (enough of it for prom-client's output) */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** the sum of the samples of `name` whose labels include `labels` */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

export function has(samples: Sample[], name: string, labels: Record<string, string> = {}): boolean {
  return samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

export async function scrape(p: TestProxy, headers: Record<string, string> = {}): Promise<Sample[]> {
  const r = await get(adminUrl(p) + '/metrics', { headers });
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body.toString()}`);
  return parseMetrics(r.body.toString());
}

export async function status(p: TestProxy, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  const r = await get(adminUrl(p) + '/status', { headers });
  if (r.status !== 200) throw new Error(`/status answered ${r.status}: ${r.body.toString()}`);
  return JSON.parse(r.body.toString()) as Record<string, any>;
}

export function post(p: TestProxy, path: string, headers: Record<string, string> = {}) {
  return get(adminUrl(p) + path, { method: 'POST', headers });
}
