/**
 * Runs the access line's byte-for-byte test (access-log-line-format.test.ts) against
 * another pino: the one installed under $LPX_PINO_DIR/node_modules. Used by
 * scripts/check-pino-latest.sh with the newest pino 10.x from the registry; the test
 * checks that pino.version is $LPX_PINO_VERSION, so the alias cannot miss quietly.
 */
import path from 'node:path';
import { defineConfig } from 'vitest/config';

const dir = process.env.LPX_PINO_DIR;
if (!dir) throw new Error('LPX_PINO_DIR must name a folder whose node_modules holds the pino to test against (see scripts/check-pino-latest.sh)');

export default defineConfig({
  resolve: { alias: { pino: path.join(dir, 'node_modules', 'pino', 'pino.js') } },
  test: {
    include: ['test/access-log-line-format.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
