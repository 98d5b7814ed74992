import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { newGuardStats } from '../../src/guard/guard-stats.js';
import { startGuard } from '../../src/guard/loop/guard-loop.js';
import { loadLibc } from '../../src/sys/libc.js';
import { useFakeRoot } from '../helpers/fake-root.js';
import { makeConfig } from '../helpers/snapshots.js';
import { waitFor } from '../helpers/wait-for.js';

const MIB = 1024 ** 2;
const fake = useFakeRoot();

describe('the guard loop', () => {
  // The loop on this machine's /proc, with a v1 memory cgroup of fake files: 1000 MiB, 25%
  // headroom (high mark 750 MiB). No process is the app's (the main child does not exist), so
  // nothing is ever stopped; the scan count tells when the loop looked.
  function startOnFakeMemory(usageMib: number) {
    const dir = `${fake.root}/memory`;
    const usage = (mib: number) => fake.writeFiles({ '/memory/memory.usage_in_bytes': `${mib * MIB}\n` });
    fake.writeFiles({ '/memory/memory.limit_in_bytes': `${1000 * MIB}\n`, '/memory/memory.stat': 'total_inactive_file 0\n' });
    usage(usageMib);
    const stats = newGuardStats();
    const guard = startGuard({
      config: makeConfig({ memoryHeadroom: { percent: 25 } }),
      intervalMs: 60_000,
      pollMs: 100,
      stopGraceMs: 100,
      dryRun: true,
      initPid: process.pid,
      mainPid: 2 ** 22 + 1,
      procSource: { kind: 'own', root: '/proc' },
      cgroupDirs: { memory: { version: 1, dir, mountPoint: dir } },
      libc: loadLibc(),
      stdinClose: { available: false, why: 'not in this test' },
      log: pino({ level: 'silent' }),
      stats,
    });
    return { stats, guard, usage };
  }

  it('scans at once when memory passes its high mark between scans, though the next scan is a minute away', async () => {
    const { stats, guard, usage } = startOnFakeMemory(700);
    try {
      await waitFor(() => stats.scans === 1, { timeoutMs: 10_000, what: 'the first scan' });
      expect(stats.limits.memory?.marks.high).toBe(750 * MIB);
      // A server fills 100 MiB: under the old loop, memory was read only at scans.
      usage(800);
      await waitFor(() => stats.scans >= 2, { timeoutMs: 10_000, what: 'a scan after memory passed the high mark' });
      expect(stats.cgroup.memory?.workingSetBytes).toBe(800 * MIB);
      expect(stats.limits.memory?.current).toBe(800 * MIB);
    } finally {
      guard.stop();
    }
  });
});
