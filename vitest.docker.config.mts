// `npm run test:docker`: the image, compose file and init in a real Docker engine
// (scripts/docker/ensure-docker.sh provides one). METAMCP_INIT_SKIP_DOCKER=1 skips, and says so.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/docker/docker.test.ts'],
    globalSetup: ['test/helpers/build-bundle.ts'],
    // The build runs `npm ci` inside a container; a storm takes ~10 s.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // One Docker engine on two cores: containers of two files at once would skew the figures.
    fileParallelism: false,
  },
});
