// Samples a cgroup while a test runs: pids.current every 10 ms, and the MCP launchers in it.
import { afterEach } from 'vitest';
import { readProcText } from '../../src/proc/read-file.js';
import { readStat } from '../../src/proc/read-proc.js';
import type { PidsCgroup } from './cgroups.js';

export type Samples = {
  maxTasks: number;
  peakTasks: number;
  count: number;
  /**
   * The longest time a launcher lived while `cap` newer launchers of its command line
   * were also there: how long a duplicate stayed above the cap.
   */
  overCapMs: number;
};

type Seen = { key: string; firstMs: number; lastMs: number };

const running = new Set<() => void>();
afterEach(() => {
  for (const stop of running) stop();
  running.clear();
});

/** Starts sampling; `stop` ends it and returns the figures. */
export function sampleCgroup(cgroup: PidsCgroup, cap = Infinity, everyMs = 10, launcherEveryMs = 50): { stop: () => Samples } {
  // At the limit, pids.current may read pids.max + 1 for an instant: the kernel adds a fork's
  // task to the count first, and takes it back when the sum is over the limit (pids_try_charge).
  let peakTasks = 0;
  let count = 0;
  const launchers = new Map<string, Seen>();
  const pidsTimer = setInterval(() => {
    try {
      peakTasks = Math.max(peakTasks, cgroup.current());
      count += 1;
    } catch {
      // The cgroup is gone: the test is over.
    }
  }, everyMs);
  const launcherTimer = setInterval(() => {
    const now = Date.now();
    let pids: number[];
    try {
      pids = cgroup.pids();
    } catch {
      return;
    }
    for (const pid of pids) {
      const cmdline = readProcText(`/proc/${pid}/cmdline`, 'utf8')?.replace(/\0+$/, '');
      const stat = readStat(pid);
      if (!cmdline?.startsWith('npm exec ') || !stat || stat.state === 'Z') continue;
      const id = `${pid}:${stat.startTicks}`;
      const seen = launchers.get(id);
      if (seen) seen.lastMs = now;
      else launchers.set(id, { key: cmdline, firstMs: now, lastMs: now });
    }
  }, launcherEveryMs);
  const stopTimers = () => {
    clearInterval(pidsTimer);
    clearInterval(launcherTimer);
  };
  running.add(stopTimers);
  return {
    stop: () => {
      stopTimers();
      running.delete(stopTimers);
      return { maxTasks: cgroup.max, peakTasks, count, overCapMs: longestOverCap([...launchers.values()], cap) };
    },
  };
}

function longestOverCap(launchers: Seen[], cap: number): number {
  let longest = 0;
  const byKey = new Map<string, Seen[]>();
  for (const seen of launchers) byKey.set(seen.key, [...(byKey.get(seen.key) ?? []), seen]);
  for (const group of byKey.values()) {
    group.sort((a, b) => a.firstMs - b.firstMs);
    group.forEach((seen, i) => {
      const excessSince = group[i + cap]?.firstMs;
      if (excessSince !== undefined) longest = Math.max(longest, seen.lastMs - excessSince);
    });
  }
  return longest;
}
