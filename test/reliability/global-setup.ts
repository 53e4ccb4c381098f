/**
 * Checks the binary is built, empties the figures file, and at the end prints every
 * scenario's figures as one table (and writes it as JSON and Markdown next to the figures
 * file, for docs/reliability.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatTable, type Figure } from './lib/report.js';

export default function setup(): () => void {
  const file = process.env.LPX_REL_FIGURES!;
  const dist = path.resolve(import.meta.dirname, '../../dist/cli.js');
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first (npm run test:reliability does)`);
  fs.writeFileSync(file, '');
  const started = Date.now();
  return () => {
    const figures: Figure[] = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const mode = process.env.LPX_RELIABILITY === 'short' ? 'short' : 'full';
    const head = `luaproxy reliability report (${mode} run, ${((Date.now() - started) / 1000).toFixed(0)} s, node ${process.version})`;
    const md = formatTable(figures);
    fs.writeFileSync(file.replace(/\.jsonl$/, '.md'), `${head}\n\n${md}\n`);
    console.log(`\n${head}\n\n${md}\n\n(figures: ${file}; table: ${file.replace(/\.jsonl$/, '.md')})\n`);
  };
}
