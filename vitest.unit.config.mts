// `npm run test:unit`: the pure tests, in seconds. No bundle, no root, no cgroup and no
// process of the init: synthetic snapshots, fake /proc and cgroup files under a temp dir.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/*.test.ts', 'test/{cgroup,cli,deploy,guard,init,proc,report}/**/*.test.ts'],
    exclude: [
      '**/node_modules/**',
      // These spawn processes and signal them, or write to the machine's cgroups (root).
      'test/cgroup/real-cgroup.test.ts',
      'test/init/forward-signals.test.ts',
      'test/proc/read-snapshot.test.ts',
      'test/proc/signal-proc.test.ts',
      'test/proc/close-stdin.test.ts',
    ],
    // Pure tests share no state but caches: one module graph in worker threads starts in a
    // fraction of the time a fresh process per file takes.
    pool: 'threads',
    isolate: false,
    // A loaded machine makes a pure test slow, not wrong.
    testTimeout: 60_000,
  },
});
