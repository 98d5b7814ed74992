import type { CgroupDirs } from '../cgroup/figures.js';
import { readCgroupFigures, withPidsMax } from '../cgroup/read-figures.js';
import type { GuardStats } from '../guard/guard-stats.js';
import type { InitStats } from '../init/init-stats.js';
import { countOwnTasks } from '../init/task-budget.js';
import { buildReport } from './build-report.js';
import type { InitReport } from './init-report.js';

/**
 * Makes the report of the running init on demand: the counters as they stand, the cgroup
 * figures and the init's own RSS and tasks read at that moment (a few small reads).
 */
export function reporterOf(parts: {
  version: string;
  init: InitStats;
  guard: GuardStats;
  cgroupDirs: CgroupDirs;
  pidsMax?: number | undefined;
}): () => InitReport {
  return () =>
    buildReport({
      version: parts.version,
      atMs: Date.now(),
      self: { pid: process.pid, tasks: countOwnTasks(), rssBytes: ownRssBytes() },
      cgroup: withPidsMax(readCgroupFigures(parts.cgroupDirs), parts.pidsMax),
      init: parts.init,
      guard: parts.guard,
    });
}

/** The init's resident memory; undefined without /proc, where libuv reads it from. */
function ownRssBytes(): number | undefined {
  try {
    return process.memoryUsage.rss();
  } catch {
    return undefined;
  }
}
