// Medians per scenario and proxy from the per-run lines of a bench/run.mjs log (for a run whose
// final report was lost: the full run of 2026-11-23 stopped in its last scenario).
//   node bench/medians-from-log.mjs bench/results/<run>.log
import fs from 'node:fs';
const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n');
const data = {};
for (const l of lines) {
  const m = /^round (\d) (\S+)\s+(\S+)\s+(\d+) req\/s\s+p50 ([\d.]+) ms\s+p99 ([\d.]+) ms\s+cpu (\S+) us\/req\s+rss (\d+) MB(.*)$/.exec(l);
  if (!m) continue;
  const [, , s, p, rps, p50, p99, cpu, rss, rest] = m;
  ((data[s] ??= {})[p] ??= []).push({ rps: +rps, p50: +p50, p99: +p99, cpu: +cpu, rss: +rss, errors: /ERRORS (\d+)/.exec(rest)?.[1] ?? 0, reloads: /reloads (\d+)/.exec(rest)?.[1] ?? '' });
}
const med = (a) => { const b = a.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y); return b.length ? b[b.length >> 1] : NaN; };
for (const [s, peers] of Object.entries(data)) {
  console.log(`\n## ${s}\n| proxy | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB | errors | rounds |`);
  for (const [p, all] of Object.entries(peers)) {
    const runs = all.filter((r) => r.rps > 0); // a run where wrk got no answer at all (the peer had died) is left out and counted
    if (!runs.length) continue;
    console.log(`| ${p} | ${med(runs.map((r) => r.rps)).toFixed(0)} | ${med(runs.map((r) => r.p50)).toFixed(2)} | ${med(runs.map((r) => r.p99)).toFixed(2)} | ${med(runs.map((r) => r.cpu)).toFixed(1)} | ${med(runs.map((r) => r.rss)).toFixed(0)} | ${runs.map((r) => r.errors).join('/')} | ${all.map((r) => r.rps).join(', ')}${runs[0].reloads !== '' ? ' reloads ' + runs.map((r) => r.reloads).join('/') : ''} |`);
  }
}
