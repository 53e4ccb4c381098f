/** `luaproxy check config.lua`: load and validate a script with no sockets opened. */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('load and validate a script without opening sockets; exit 0 when it is good')
    .argument('<config>', 'the script, e.g. config.lua')
    .addHelpText('after', '\nExample:\n  $ luaproxy check config.lua && systemctl reload luaproxy')
    .action((file: string) => {
      const cfg = loadConfig(file, { log: () => {} });
      for (const w of cfg.warnings) process.stderr.write(`warning: ${w}\n`);
      const routeAt = cfg.script.functionWhere('route');
      process.stdout.write(`${file}: ok: listen ${cfg.listen.host}:${cfg.listen.port}, ${cfg.backends.length} backend${cfg.backends.length === 1 ? '' : 's'} (${cfg.backends.map((b) => b.name).join(', ')}), route at ${routeAt}\n`);
    });
}
