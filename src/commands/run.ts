/** `luaproxy run config.lua`: serve traffic with a script, reloading it on save and SIGHUP. */
import type { Command } from 'commander';
import { createLogger } from '../core/logger.js';
import cluster from 'node:cluster';
import os from 'node:os';
import { start } from '../app.js';
import { installProcessHandlers } from '../wiring.js';
import { runPrimary, parseWorkers } from '../cluster/primary.js';
import { runWorker } from '../cluster/worker.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('serve traffic with a Lua config script (reloads on save and on SIGHUP)')
    .argument('<config>', 'the script, e.g. config.lua')
    .option('--pretty', 'human-readable logs (the default when stdout is a terminal)')
    .option('--json', 'JSON logs even on a terminal')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent (overrides log.level)')
    .option('--no-watch', 'do not reload when the script files change')
    .option('--workers <n>', 'worker processes sharing the listen port: a number, or "auto" for one per core (default 1: no cluster)')
    .option('--admin <host:port>', 'serve metrics, status and the admin API on this address (overrides admin.listen); token from LUAPROXY_ADMIN_TOKEN or admin.token')
    .addHelpText('after', '\nExamples:\n  $ luaproxy run config.lua --pretty\n  $ luaproxy run config.lua --workers auto               # one worker per core, one port\n  $ luaproxy run --admin 127.0.0.1:9901 config.lua     # then: curl http://127.0.0.1:9901/metrics')
    .action(async (file: string, o: { pretty?: boolean; json?: boolean; logLevel?: string; watch: boolean; admin?: string; workers?: string }) => {
      const workers = parseWorkers(o.workers, os.availableParallelism());
      const log = createLogger({ level: o.logLevel ?? 'info', pretty: o.json ? false : o.pretty, shared: workers > 1 || cluster.isWorker });
      installProcessHandlers(log);
      if (cluster.isWorker) return runWorker({ file, log, followLogLevel: !o.logLevel });
      if (workers > 1) {
        await runPrimary({ file, workers, log, watch: o.watch, signals: true, admin: o.admin ?? null, adminToken: process.env.LUAPROXY_ADMIN_TOKEN || null });
        return;
      }
      await start({
        file, log, watch: o.watch, signals: true, watchdog: true,
        admin: o.admin ?? null,
        adminToken: process.env.LUAPROXY_ADMIN_TOKEN || null,
        // the script's log.level applies, and follows reloads, unless --log-level pinned it
        followLogLevel: !o.logLevel,
      });
    });
}
