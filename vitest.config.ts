import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Tiers live in the file name (`.unit.`, `.int.`, `.e2e.`) so a run can pick one with
// `vitest run --project unit`; the default run takes them all.
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.unit.test.ts'] } },
      { extends: true, test: { name: 'int', include: ['test/**/*.int.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.e2e.test.ts'] } },
    ],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most tests wait on a database, a broker or a timer rather than compute: two files at a
    // time even on two cores (vitest's default there is one) cut the suite by a quarter.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
