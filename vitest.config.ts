import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['test/reliability/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // the machine has 2 cores; socket tests are I/O-bound but share them
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
