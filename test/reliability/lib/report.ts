/**
 * Figures: every scenario reports what it measured and the bound it asserted, one JSON
 * line each in LPX_REL_FIGURES; the global teardown prints them as one table.
 */
import fs from 'node:fs';

export interface Figure {
  scenario: string;
  name: string;
  value: number | string;
  unit: string;
  /** the asserted bound, as text ("<= 0", "< 64 MiB"), or '' for information only */
  bound: string;
  ok: boolean;
}

export function figure(scenario: string, name: string, value: number | string, unit = '', bound = '', ok = true): void {
  const f: Figure = { scenario, name, value: typeof value === 'number' ? Math.round(value * 100) / 100 : value, unit, bound, ok };
  const file = process.env.LPX_REL_FIGURES;
  if (file) fs.appendFileSync(file, JSON.stringify(f) + '\n');
  console.log(`[${scenario}] ${name}: ${f.value}${unit ? ' ' + unit : ''}${bound ? `  (bound ${bound}${ok ? '' : ' — EXCEEDED'})` : ''}`);
}

/** report a figure and return whether it is within `max` (the caller asserts) */
export function atMost(scenario: string, name: string, value: number, max: number, unit = ''): number {
  figure(scenario, name, value, unit, `<= ${max}`, value <= max);
  return value;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

export function formatTable(figures: Figure[]): string {
  const rows = [['scenario', 'figure', 'value', 'bound'], ['---', '---', '---:', '---']];
  for (const f of figures) rows.push([f.scenario, f.name, `${f.value}${f.unit ? ' ' + f.unit : ''}`, f.bound ? `${f.bound}${f.ok ? '' : ' **EXCEEDED**'}` : '']);
  return rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
}
