/**
 * `luaproxy push config.lua --etcd URL` and `luaproxy push --backends backends.json
 * --etcd URL`: publish a script (with its modules) or a backend list to a fleet, after the
 * checks every instance will run (src/fleet/publish.ts) and, for a script, its test files
 * (config_test.lua, as `luaproxy test` runs them), in one transaction guarded by the
 * revision read. Exits 1 when refused or when another push won the race.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { testCommand } from './test.js';
import { LpxError } from '../core/errors.js';
import { displayPath } from '../core/display-path.js';
import { addEtcdFlags, connect, etcdEnv, etcdError, parseEndpoints, type EtcdFlags } from '../fleet/client.js';
import { commitPlan, planBackends, planScript, SAMPLE_HOSTS, type Plan } from '../fleet/publish.js';
import { normalizePrefix } from '../fleet/version.js';

interface PushOptions extends EtcdFlags { etcd?: string; etcdPrefix?: string; backends?: string; force?: boolean }

export function registerPush(program: Command): void {
  addEtcdFlags(program
    .command('push'))
    .description('publish a script (with its modules) or a backend list to a fleet in etcd, after check, its own tests and the guard')
    .argument('[config]', 'the script to publish, e.g. config.lua')
    .requiredOption('--etcd <urls>', 'etcd endpoints, comma-separated, e.g. http://127.0.0.1:2379')
    .option('--etcd-prefix <prefix>', 'the fleet\'s key prefix', '/luaproxy/')
    .option('--backends <file>', 'publish this JSON list of { "name", "url", "weight" } as <prefix>backends (replaces the script\'s own backends on every instance)')
    .option('--force', 'publish past the guard (reload.max_failing, reload.fleet_max_moved), here and on every instance')
    .addHelpText('after', '\nExamples:\n  $ luaproxy push config.lua --etcd http://127.0.0.1:2379\n  $ luaproxy push --backends backends.json --etcd http://127.0.0.1:2379')
    .action(async (file: string | undefined, o: PushOptions) => {
      if ((file === undefined) === (o.backends === undefined)) throw new LpxError('LPX_CLI_USAGE', 'say what to push: a script (luaproxy push config.lua --etcd URL) or a backend list (luaproxy push --backends backends.json --etcd URL), one at a time');
      const hosts = parseEndpoints(o.etcd!);
      const prefix = normalizePrefix(o.etcdPrefix);
      const client = await connect(hosts, 5000, etcdEnv(o));
      try {
        let plan: Plan;
        try {
          if (o.backends !== undefined) {
            let text: string;
            try { text = fs.readFileSync(o.backends, 'utf8'); } catch (e) { throw new LpxError('LPX_CLI_USAGE', `${o.backends}: cannot read the backend list: ${(e as Error).message}`); }
            plan = await planBackends(client, prefix, text, displayPath(o.backends), { force: o.force });
          } else {
            runTestFiles(file!);
            plan = await planScript(client, prefix, file!, { force: o.force });
          }
        } catch (e) {
          throw e instanceof LpxError ? e : etcdError(e, hosts, `reading ${prefix}`);
        }
        for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
        for (const f of plan.skipped) process.stderr.write(`note: ${displayPath(f)} is not published; every instance reads it from its own disk (use an absolute path)\n`);
        let rev: number;
        try {
          rev = await commitPlan(client, prefix, plan);
        } catch (e) {
          throw e instanceof LpxError ? e : etcdError(e, hosts, 'the push transaction');
        }
        const keys = [...plan.puts.keys()].map((k) => prefix + k);
        const m = plan.moved;
        const share = m ? `; ${pct(m.moved / m.compared)} of ${SAMPLE_HOSTS} sample hosts move to another destination${m.succeeded ? `, ${pct(m.failing / m.succeeded)} of those answered well would get 404/5xx` : ''}` : '; nothing published before to compare with';
        process.stdout.write(`published revision ${rev}${plan.note.force ? ' (forced past the guard)' : ''}: ${keys.join(', ')}${plan.deletes.length ? `; removed ${plan.deletes.map((k) => prefix + k).join(', ')}` : ''}${share}\n`);
        process.stdout.write(`every instance takes it through its reload gate now; see the fleet with: luaproxy status --etcd ${hosts.join(',')}\n`);
      } finally {
        client.close();
      }
    });
}

/**
 * The script's test files beside it (config_test.lua, config.test.lua, config_spec.lua), run
 * as `luaproxy test` runs them; a failure refuses the push (its report on stderr).
 */
function runTestFiles(file: string): void {
  const base = path.basename(file, '.lua');
  const files = ['_test.lua', '.test.lua', '_spec.lua'].map((x) => path.join(path.dirname(file), base + x)).filter((f) => fs.existsSync(f));
  if (files.length === 0) return;
  const { code, output, result } = testCommand(files);
  if (code !== 0) {
    process.stderr.write(output);
    throw new LpxError('LPX_FLEET_PUSH_REFUSED', `${result.failed} of ${result.passed + result.failed} tests in ${files.map(displayPath).join(', ')} failed; nothing was published`);
  }
  process.stderr.write(`${result.passed} tests in ${files.map(displayPath).join(', ')} passed\n`);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
