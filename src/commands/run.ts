/** `luaproxy run config.lua`: serve traffic with a script, reloading it on save and SIGHUP. */
import type { Command } from 'commander';
import { createLogger } from '../core/logger.js';
import cluster from 'node:cluster';
import os from 'node:os';
import { start } from '../app.js';
import { installProcessHandlers } from '../wiring.js';
import { runPrimary, parseWorkers } from '../cluster/primary.js';
import { runWorker } from '../cluster/worker.js';
import { addEtcdFlags, etcdEnv, parseEndpoints, type EtcdFlags } from '../fleet/client.js';
import { normalizePrefix } from '../fleet/version.js';
import { defaultCacheDir } from '../fleet/cache.js';
import { LpxError } from '../core/errors.js';

export function registerRun(program: Command): void {
  addEtcdFlags(program
    .command('run'))
    .description('serve traffic with a Lua config script (reloads on save and on SIGHUP)')
    .argument('[config]', 'the script, e.g. config.lua (none with --etcd: the script comes from etcd)')
    .option('--pretty', 'human-readable logs (the default when stdout is a terminal)')
    .option('--json', 'JSON logs even on a terminal')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent (overrides log.level)')
    .option('--no-watch', 'do not reload when the script files change')
    .option('--workers <n>', 'worker processes sharing the listen port: a number, or "auto" for one per core (default 1: no cluster)')
    .option('--admin <host:port>', 'serve metrics, status and the admin API on this address (overrides admin.listen); token from LUAPROXY_ADMIN_TOKEN or admin.token')
    .option('--listen <host:port>', 'listen for traffic on this address (overrides the script\'s listen)')
    .option('--etcd <urls>', 'run as one instance of a fleet: the script, its modules and the backend list come from etcd at these URLs (comma-separated); see docs/fleet.md')
    .option('--etcd-prefix <prefix>', 'the fleet\'s key prefix in etcd', '/luaproxy/')
    .option('--cache <dir>', 'with --etcd: where the last good version is kept, to start from when etcd is unreachable (default ~/.cache/luaproxy/<prefix>)')
    .option('--id <name>', 'with --etcd: this instance\'s name in the fleet view (default hostname/listen address)')
    .addHelpText('after', '\nExamples:\n  $ luaproxy run config.lua --pretty\n  $ luaproxy run config.lua --workers auto               # one worker per core, one port\n  $ luaproxy run --admin 127.0.0.1:9901 config.lua     # then: curl http://127.0.0.1:9901/metrics\n  $ luaproxy run --etcd http://127.0.0.1:2379 --listen 0.0.0.0:8080 --admin 127.0.0.1:9901   # one instance of a fleet')
    .action(async (file: string | undefined, o: { pretty?: boolean; json?: boolean; logLevel?: string; watch: boolean; admin?: string; workers?: string; listen?: string; etcd?: string; etcdPrefix?: string; cache?: string; id?: string } & EtcdFlags) => {
      if (o.etcd !== undefined) {
        if (file !== undefined) throw new LpxError('LPX_CLI_USAGE', `run --etcd takes no script (${file}): the script is <prefix>config.lua in etcd; publish it with luaproxy push ${file} --etcd ${o.etcd}`);
        if (o.workers !== undefined && o.workers !== '1') throw new LpxError('LPX_CLI_USAGE', '--etcd with --workers is not supported yet: run one instance per core (each with its own --listen, or SO_REUSEPORT behind an L4 balancer)');
        const hosts = parseEndpoints(o.etcd);
        const prefix = normalizePrefix(o.etcdPrefix);
        const log = createLogger({ level: o.logLevel ?? 'info', pretty: o.json ? false : o.pretty });
        installProcessHandlers(log);
        // etcd3 (and gRPC) load only for a fleet instance
        const { startFleet } = await import('../fleet/instance.js');
        await startFleet({
          hosts, prefix, cache: o.cache ?? defaultCacheDir(prefix), log, id: o.id, listen: o.listen, env: etcdEnv(o),
          admin: o.admin ?? null, adminToken: process.env.LUAPROXY_ADMIN_TOKEN || null,
          signals: true, watchdog: true, followLogLevel: !o.logLevel,
        });
        return;
      }
      if (file === undefined) throw new LpxError('LPX_CLI_USAGE', 'say which script to run: luaproxy run config.lua (or --etcd URL to run as one instance of a fleet)');
      const workers = parseWorkers(o.workers, os.availableParallelism());
      const log = createLogger({ level: o.logLevel ?? 'info', pretty: o.json ? false : o.pretty, shared: workers > 1 || cluster.isWorker });
      installProcessHandlers(log);
      if (cluster.isWorker) return runWorker({ file, log, followLogLevel: !o.logLevel });
      if (workers > 1) {
        if (o.listen !== undefined) throw new LpxError('LPX_CLI_USAGE', '--listen with --workers is not supported: set listen in the script');
        await runPrimary({ file, workers, log, watch: o.watch, signals: true, admin: o.admin ?? null, adminToken: process.env.LUAPROXY_ADMIN_TOKEN || null });
        return;
      }
      await start({
        file, log, watch: o.watch, signals: true, watchdog: true,
        admin: o.admin ?? null,
        ...(o.listen !== undefined ? { loadFrom: () => ({ listen: o.listen }) } : {}),
        adminToken: process.env.LUAPROXY_ADMIN_TOKEN || null,
        // the script's log.level applies, and follows reloads, unless --log-level pinned it
        followLogLevel: !o.logLevel,
      });
    });
}
