import { describe, expect, it } from 'vitest';
import { readAllStats } from '../../src/proc/read-proc.js';
import { isZombie } from '../../src/proc/snapshot.js';
import { makePidsCgroup } from '../helpers/cgroups.js';
import { FIXTURES, rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

describe.runIf(rootTestsEnabled())('inside a full pids cgroup', () => {
  it.each(['pid1', 'subreaper'] as const)('still reaps and forwards signals, and does not abort (%s)', async (mode) => {
    const cgroup = makePidsCgroup(60);
    const run = startInit({
      mode,
      prefix: cgroup.prefix,
      initArgs: ['--grace', '2s'],
      command: [process.execPath, `${FIXTURES}fill-pids.js`, '--exit-on', 'SIGTERM'],
    });
    await run.waitForStdout('full', 20_000);
    const init = await run.initRef();
    expect(cgroup.current()).toBe(cgroup.max);

    // Forwarding needs no new task.
    await run.signal('SIGUSR1');
    await run.waitForStdout('SIGUSR1\n');

    // Kill ten of the orphaned sleeps: the init must reap them although no pid is free.
    const sleeps = [...readAllStats().values()].filter((p) => p.ppid === init.pid && p.comm === 'sleep');
    expect(sleeps.length).toBeGreaterThan(10);
    for (const proc of sleeps.slice(0, 10)) process.kill(proc.pid, 'SIGKILL');
    await waitFor(
      () => {
        const mine = [...readAllStats().values()].filter((p) => p.ppid === init.pid);
        return mine.filter(isZombie).length === 0 && cgroup.current() <= cgroup.max - 10;
      },
      { what: 'the killed orphans to be reaped' },
    );

    await run.signal('SIGTERM');
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.stderr()).not.toMatch(/Abort|FATAL ERROR|uncaught/);
    expect(cgroup.current()).toBe(0);
  });
});
