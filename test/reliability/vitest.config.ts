/**
 * The reliability suite (issue #8): scenarios against the BUILT bin/luaproxy.js, run one
 * file at a time so that memory and handle figures of one scenario are not disturbed by
 * another. `npm run test:reliability` is the full run (several minutes);
 * `npm run test:reliability:short` (LPX_RELIABILITY=short) is the CI run.
 */
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// each scenario appends its figures here; global-setup prints them at the end
process.env.LPX_REL_FIGURES ??= path.join(os.tmpdir(), `luaproxy-reliability-${process.pid}.jsonl`);

export default defineConfig({
  test: {
    root: path.resolve(import.meta.dirname, '../..'),
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/reliability/global-setup.ts'],
    fileParallelism: false,
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 15 * 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
