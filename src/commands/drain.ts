/**
 * `luaproxy drain NAME --etcd URL` and `luaproxy enable NAME --etcd URL`: drain a backend
 * on every instance of a fleet (or undo it) through the key <prefix>drain/NAME, which
 * every instance watches and applies as its admin API's drain does. One proxy without
 * etcd is drained through its admin API: POST /backends/NAME/drain.
 */
import os from 'node:os';
import type { Command } from 'commander';
import { LpxError } from '../core/errors.js';
import { addEtcdFlags, connect, etcdEnv, etcdError, parseEndpoints, type EtcdFlags } from '../fleet/client.js';
import { DRAIN_DIR, normalizePrefix } from '../fleet/version.js';

export function registerDrain(program: Command): void {
  for (const verb of ['drain', 'enable'] as const) {
    addEtcdFlags(program
      .command(verb))
      .description(verb === 'drain'
        ? 'stop sending new requests to a backend on every instance of a fleet (etcd key <prefix>drain/NAME)'
        : 'undo drain: every instance of the fleet sends requests to the backend again')
      .argument('<name>', 'the backend\'s name')
      .requiredOption('--etcd <urls>', 'etcd endpoints, comma-separated (one proxy without etcd: POST /backends/NAME/' + verb + ' on its admin API)')
      .option('--etcd-prefix <prefix>', 'the fleet\'s key prefix', '/luaproxy/')
      .addHelpText('after', `\nExamples:\n  $ luaproxy ${verb} app2 --etcd http://127.0.0.1:2379`)
      .action(async (name: string, o: EtcdFlags & { etcd: string; etcdPrefix?: string }) => {
        if (!/^[^\s/]+$/.test(name)) throw new LpxError('LPX_CLI_USAGE', `${verb}: expected a backend name without spaces or "/", got ${JSON.stringify(name)}`);
        const hosts = parseEndpoints(o.etcd);
        const prefix = normalizePrefix(o.etcdPrefix);
        const client = await connect(hosts, 5000, etcdEnv(o));
        const key = `${prefix}${DRAIN_DIR}${name}`;
        try {
          if (verb === 'drain') {
            let by = 'unknown';
            try { by = `${os.userInfo().username}@${os.hostname()}`; } catch { /* no passwd entry */ }
            await client.put(key).value(JSON.stringify({ at: new Date().toISOString(), by })).catch((e) => { throw etcdError(e, hosts, `writing ${key}`); });
            process.stdout.write(`backend ${name} drained on the whole fleet (${key}); undo with: luaproxy enable ${name} --etcd ${hosts.join(',')}\n`);
          } else {
            await client.delete().key(key).exec().catch((e) => { throw etcdError(e, hosts, `deleting ${key}`); });
            process.stdout.write(`backend ${name} enabled on the whole fleet\n`);
          }
        } finally {
          client.close();
        }
      });
  }
}
