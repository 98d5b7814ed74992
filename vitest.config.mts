import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Docker end-to-end runs apart: `npm run test:docker` (vitest.docker.config.mts).
    exclude: ['test/docker/docker.test.ts', '**/node_modules/**'],
    globalSetup: ['test/helpers/build-bundle.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real process trees; two cores are shared by them.
    maxWorkers: 2,
  },
});
