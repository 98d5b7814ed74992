// Samples a cgroup while a test runs: pids.current every 10 ms, and the MCP launchers in it.
import { readProcText } from '../../src/proc/read-file.js';
import type { PidsCgroup } from './pids-cgroup.js';

export type Samples = { maxTasks: number; peakTasks: number; count: number; overCapMs: number };

/**
 * Starts sampling. `overCapMs` is the longest time the number of live launchers of one
 * command stayed above `cap`, measured with the `launcherEveryMs` samples.
 */
export function sampleCgroup(cgroup: PidsCgroup, cap = Infinity, everyMs = 10, launcherEveryMs = 100): { stop: () => Samples } {
  let peakTasks = 0;
  let count = 0;
  let overSince: number | undefined;
  let overCapMs = 0;
  const pidsTimer = setInterval(() => {
    peakTasks = Math.max(peakTasks, cgroup.current());
    count += 1;
  }, everyMs);
  const launcherTimer = setInterval(() => {
    const byKey = new Map<string, number>();
    for (const pid of cgroup.pids()) {
      const cmdline = readProcText(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline?.startsWith('npm exec ')) continue;
      const key = cmdline.replace(/\0+$/, '');
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
    }
    const over = [...byKey.values()].some((n) => n > cap);
    const now = Date.now();
    if (over) overSince ??= now;
    else overSince = undefined;
    if (overSince !== undefined) overCapMs = Math.max(overCapMs, now - overSince);
  }, launcherEveryMs);
  return {
    stop: () => {
      clearInterval(pidsTimer);
      clearInterval(launcherTimer);
      return { maxTasks: cgroup.max, peakTasks, count, overCapMs };
    },
  };
}
