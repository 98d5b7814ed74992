import { describe, expect, it } from 'vitest';
import { readStat } from '../../src/proc/read-proc.js';
import { FIXTURES, type RunningInit, rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

const HOSTILE = `${FIXTURES}hostile-cmdlines.js`;

/** Lets the guard run for `ms` (many scans at --interval 200ms), polling rather than sleeping. */
function letScansRun(ms: number) {
  const start = Date.now();
  return waitFor(() => Date.now() - start >= ms, { timeoutMs: ms + 1000, what: `${ms} ms of guard scans` });
}

/** Sends USR1 to the init and resolves once the child has printed it `count` times in all. */
async function forwardUsr1(run: RunningInit, count: number) {
  await run.signal('SIGUSR1');
  await waitFor(() => run.stdout().toString().split('SIGUSR1').length - 1 >= count, { timeoutMs: 15_000, what: `SIGUSR1 #${count} forwarded` });
}

// Any process in the container chooses its own command line: none may freeze or bloat PID 1.
describe.runIf(rootTestsEnabled())('hostile command lines, as PID 1', () => {
  it('keeps forwarding and exits on TERM with a catastrophic --match and a command line built to trip it', async () => {
    const run = startInit({
      mode: 'pid1',
      initArgs: ['--match', '(a+)+$', '--interval', '200ms', '--log-level', 'debug'],
      command: ['node', HOSTILE, '--named', `${'a'.repeat(34)}b`],
    });
    await run.waitForStdout('spawned');
    // The first scan that sees the sleep is the one that used to spin for minutes.
    await letScansRun(1000);
    await forwardUsr1(run, 1);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it('keeps its memory flat with 60 processes of eight 120 KB arguments each', async () => {
    const rssMiB = async (run: RunningInit) => (readStat((await run.initRef()).pid)!.rssPages * 4096) / 2 ** 20;
    const settle = async (run: RunningInit) => {
      await run.waitForStdout('spawned', 30_000);
      await forwardUsr1(run, 1);
      // Past the scanner's settle time (2 s) command lines are cached: memory shows what it keeps.
      await letScansRun(3000);
      await forwardUsr1(run, 2);
      return rssMiB(run);
    };
    const initArgs = ['--interval', '200ms', '--log-level', 'debug'];
    const plain = startInit({ mode: 'pid1', initArgs, command: ['node', HOSTILE, '--huge', '60', '8', '10'] });
    const plainMiB = await settle(plain);
    await plain.signal('SIGTERM');
    await plain.exited;
    const huge = startInit({ mode: 'pid1', initArgs, command: ['node', HOSTILE, '--huge', '60', '8', '120000'] });
    const hugeMiB = await settle(huge);
    await huge.signal('SIGTERM');
    expect((await huge.exited).code).toBe(0);
    console.log(`init RSS with 60 small command lines ${plainMiB.toFixed(1)} MiB, with 60 x 8 x 120 KB ${hugeMiB.toFixed(1)} MiB`);
    expect(hugeMiB - plainMiB).toBeLessThan(15);
  });
});
