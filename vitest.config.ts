import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll's own default gives up after 1 s: a page fetching under a loaded machine (CI
    // shares two cores with PostgreSQL and a browser) needs longer; a poll still ends as soon as
    // its condition holds.
    expect: { poll: { timeout: 10_000 } },
    // Two cores: more forks than this only adds contention with PostgreSQL.
    pool: 'forks',
    maxWorkers: 3,
  },
});
