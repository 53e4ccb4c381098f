/** `luaproxy check config.lua`: load and validate a script with no sockets opened. */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config/load.js';
import { checkCandidate } from '../routing/gate.js';
import { checkHostProperties } from '../testing/properties.js';
import { readSample } from '../testing/diff.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('load and validate a script without opening sockets; exit 0 when it is good')
    .argument('<config>', 'the script, e.g. config.lua')
    .option('--hosts <file>', 'also check routing properties over these requests ("host /path" per line): any letter case routes alike, and every backend route names exists')
    .addHelpText('after', '\nExample:\n  $ luaproxy check config.lua && systemctl reload luaproxy\n  $ luaproxy check config.lua --hosts top-hosts.txt')
    .action((file: string, o: { hosts?: string }) => {
      const cfg = loadConfig(file, { log: () => {} });
      for (const w of cfg.warnings) process.stderr.write(`warning: ${w}\n`);
      checkCandidate(cfg); // the gate a start or a reload passes: the script's own `tests`
      let checked = '';
      if (o.hosts) {
        const sample = readSample(o.hosts);
        const problems = checkHostProperties(cfg.file, sample, { source: cfg.files.get(cfg.file) });
        for (const p of problems) process.stderr.write(`${file}: ${p.message}\n`);
        if (problems.length) {
          process.exitCode = 1;
          return;
        }
        checked = `; ${sample.length} request${sample.length === 1 ? '' : 's'} from ${o.hosts} route alike in any letter case, to existing backends`;
      }
      const routeAt = cfg.script.functionWhere('route');
      process.stdout.write(`${file}: ok: listen ${cfg.listeners.map((l) => `${l.host}:${l.port}${l.tls ? (l.http2 ? ' (tls, h2)' : ' (tls)') : ''}${l.proxyProtocol ? ' (proxy protocol)' : ''}`).join(', ')}, ${cfg.backends.length} backend${cfg.backends.length === 1 ? '' : 's'} (${cfg.backends.map((b) => b.name).join(', ')}), route at ${routeAt}${acmeSummary(cfg)}${checked}\n`);
    });
}

/** `; acme: 2 names, tls_allow at config.lua:40 (directory ...)`, when the script has an acme table */
function acmeSummary(cfg: Config): string {
  if (!cfg.acme) return '';
  const allow = cfg.script.functionWhere('tls_allow');
  const n = cfg.acme.names.length;
  return `; acme: ${n} name${n === 1 ? '' : 's'}${allow ? `, tls_allow at ${allow}` : ', no tls_allow (only acme.names get certificates)'} (${cfg.acme.directory})`;
}
