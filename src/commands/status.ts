/**
 * `luaproxy status --etcd URL`: the fleet as a table (each instance, the version it
 * serves, its last refusal) and whether every instance serves the same version, the one
 * etcd holds. Exits 1 when they disagree, so a deploy script can wait on it.
 */
import type { Command } from 'commander';
import { addEtcdFlags, connect, etcdEnv, etcdError, parseEndpoints, type EtcdFlags } from '../fleet/client.js';
import { formatFleet, readFleet } from '../fleet/view.js';
import { normalizePrefix } from '../fleet/version.js';

export function registerStatus(program: Command): void {
  addEtcdFlags(program
    .command('status'))
    .description('show a fleet in etcd: every instance, the version it serves, its last refusal; exit 1 unless all serve etcd\'s version')
    .requiredOption('--etcd <urls>', 'etcd endpoints, comma-separated, e.g. http://127.0.0.1:2379')
    .option('--etcd-prefix <prefix>', 'the fleet\'s key prefix', '/luaproxy/')
    .option('--json', 'print the view as JSON')
    .addHelpText('after', '\nExamples:\n  $ luaproxy status --etcd http://127.0.0.1:2379\n  $ luaproxy status --etcd http://127.0.0.1:2379 --json')
    .action(async (o: EtcdFlags & { etcd: string; etcdPrefix?: string; json?: boolean }) => {
      const hosts = parseEndpoints(o.etcd);
      const prefix = normalizePrefix(o.etcdPrefix);
      const client = await connect(hosts, 5000, etcdEnv(o));
      try {
        const view = await readFleet(client, prefix).catch((e) => { throw etcdError(e, hosts, `reading ${prefix}`); });
        process.stdout.write(o.json ? JSON.stringify(view, null, 2) + '\n' : formatFleet(view) + '\n');
        if (!view.converged) process.exitCode = 1;
      } finally {
        client.close();
      }
    });
}
