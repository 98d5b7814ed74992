import { defineConfig } from 'vitest/config';

// Tests that measure the guard's margin against a storm, or the sessions a storm lets the app
// serve, need the machine to themselves, as a benchmark does: they run after all the others,
// one file at a time. (guard-service's storm, beside other files' process trees in CI, once
// left the final session unserved.)
const ALONE = ['test/integration/guard-v3.test.ts', 'test/integration/guard-service.test.ts'];

const shared = {
  globalSetup: ['test/helpers/build-bundle.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    // Integration tests start real process trees; two cores are shared by them.
    maxWorkers: 2,
    projects: [
      {
        test: {
          ...shared,
          name: 'shared',
          include: ['test/**/*.test.ts'],
          // The Docker end-to-end runs apart: `npm run test:docker` (vitest.docker.config.mts).
          exclude: ['test/docker/docker.test.ts', '**/node_modules/**', ...ALONE],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'alone',
          include: ALONE,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
