/**
 * The `luaproxy` command line (commander). Each command lives in src/commands/; this
 * file only assembles them and turns any error into one clear line and a non-zero exit
 * (the full detail with --verbose): an LpxError's exit code is its catalog entry's (2 for
 * LPX_CLI_USAGE), any other error's is 1.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { registerRun } from './commands/run.js';
import { registerCheck } from './commands/check.js';
import { registerRoute } from './commands/route.js';
import { registerDemo } from './commands/demo.js';
import { registerTest } from './commands/test.js';
import { registerDiff } from './commands/diff.js';
import { registerReload } from './commands/reload.js';
import { registerInit } from './commands/init.js';
import { registerPush } from './commands/push.js';
import { registerStatus } from './commands/status.js';
import { registerDrain } from './commands/drain.js';
import { isLpxError } from './core/errors.js';

const require = createRequire(import.meta.url);
const pkg = require('../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('luaproxy')
    .description('HTTP reverse proxy and load balancer whose configuration is a Lua script')
    .version(pkg.version, '-V, --version')
    .option('--verbose', 'show stack traces and details of errors')
    .showHelpAfterError('(run luaproxy --help for usage)')
    .addHelpText('after', `
Examples:
  $ luaproxy init myproxy                 # a commented starter config.lua and its tests
  $ luaproxy demo                         # a demo proxy on 127.0.0.1:8080 with three demo backends
  $ luaproxy run config.lua               # serve with your script
  $ luaproxy check config.lua             # validate without opening sockets
  $ luaproxy route config.lua IronHand.example.com /   # what route() decides, and why`);
  registerRun(program);
  registerCheck(program);
  registerRoute(program);
  registerDemo(program);
  registerTest(program);
  registerDiff(program);
  registerReload(program);
  registerInit(program);
  registerPush(program);
  registerStatus(program);
  registerDrain(program);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    const verbose = program.opts().verbose || argv.includes('--verbose');
    const err = e as Error & { code?: string; traceback?: string };
    const line = isLpxError(err) ? err.message : `error: ${err.message}`;
    process.stderr.write(`${line}\n`);
    if (verbose) {
      process.stderr.write(`${err.traceback ? err.traceback + '\n' : ''}${err.stack ?? ''}\n`);
      for (let c = err.cause, depth = 0; c && depth < 5; c = (c as Error).cause, depth++) {
        process.stderr.write(`caused by: ${c instanceof Error ? c.stack ?? c.message : String(c)}\n`);
      }
    }
    process.exitCode = isLpxError(err) ? err.exit : 1;
  }
}
