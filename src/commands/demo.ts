/** `luaproxy demo` (what `npm start` runs): examples/demo.lua in front of demo backends it starts itself. */
import type { Command } from 'commander';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../core/logger.js';
import { loadConfig } from '../config/load.js';
import { startDemoBackend } from '../demo.js';
import { start } from '../app.js';
import { installProcessHandlers } from '../wiring.js';

export const DEMO_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/demo.lua');

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run examples/demo.lua on 127.0.0.1:8080 in front of demo backends it starts itself')
    .option('--pretty', 'human-readable logs')
    .addHelpText('after', `\nExample:\n  $ luaproxy demo --pretty\n\nThen try:\n  $ curl -H 'Host: IronHand.example.com' http://127.0.0.1:8080/\n  $ curl -H 'Host: ironhand.EXAMPLE.com' http://127.0.0.1:8080/   # same backend`)
    .action(async (o: { pretty?: boolean }) => {
      const log = createLogger({ pretty: o.pretty });
      installProcessHandlers(log);
      const cfg = loadConfig(DEMO_SCRIPT);
      const backends = await Promise.all(cfg.backends.map((b) => {
        const u = new URL(b.url);
        return startDemoBackend(b.name, u.hostname, Number(u.port));
      }));
      const running = await start({ file: DEMO_SCRIPT, log, signals: true, watch: false });
      log.info(`demo: ${backends.length} backends (${backends.map((b) => `${b.name} on :${b.port}`).join(', ')}); try: curl -H 'Host: IronHand.example.com' http://127.0.0.1:${running.address.port}/`);
      process.once('exit', () => { for (const b of backends) b.server.close(); });
    });
}
