/** `luaproxy run config.lua`: serve traffic with a script, reloading it on save and SIGHUP. */
import type { Command } from 'commander';
import { createLogger } from '../core/logger.js';
import { start, installProcessHandlers } from '../app.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('serve traffic with a Lua config script (reloads on save and on SIGHUP)')
    .argument('<config>', 'the script, e.g. config.lua')
    .option('--pretty', 'human-readable logs (the default when stdout is a terminal)')
    .option('--json', 'JSON logs even on a terminal')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent (overrides log.level)')
    .option('--no-watch', 'do not reload when the script files change')
    .addHelpText('after', '\nExample:\n  $ luaproxy run config.lua --pretty')
    .action(async (file: string, o: { pretty?: boolean; json?: boolean; logLevel?: string; watch: boolean }) => {
      const log = createLogger({ level: o.logLevel ?? 'info', pretty: o.json ? false : o.pretty });
      installProcessHandlers(log);
      const running = await start({ file, log, watch: o.watch, signals: true });
      if (!o.logLevel) log.level = running.config.settings.log.level;
    });
}
