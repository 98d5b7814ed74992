// Reports built from the init's and the guard's own stats types, for the pure report tests.
import { type GuardStats, type InstanceView, newGuardStats } from '../../src/guard/guard-stats.js';
import { watermarksOf } from '../../src/guard/headroom.js';
import { type InitStats, newInitStats } from '../../src/init/init-stats.js';
import { buildReport } from '../../src/report/build-report.js';
import type { InitReport } from '../../src/report/init-report.js';

export const T0 = 1_800_000_000_000;

/** An instance view; a settled, idle one unless told otherwise. */
export function view(key: string, fields: Partial<InstanceView> = {}): InstanceView {
  return {
    key,
    launcherPid: 100,
    orphaned: false,
    starting: false,
    busy: false,
    idle: true,
    ageMs: 60_000,
    idleMs: 30_000,
    tasks: 23,
    rssBytes: 100 * 2 ** 20,
    refused: false,
    stopping: false,
    ...fields,
  };
}

/** A running init with a guard on that scanned a second ago; `change` edits the stats first. */
export function reportOf(change: (init: InitStats, guard: GuardStats) => void = () => {}, atMs = T0 + 60_000): InitReport {
  const init = newInitStats(T0);
  init.mainChild = { pid: 7, running: true };
  const guard: GuardStats = {
    ...newGuardStats(),
    mode: 'on',
    intervalMs: 1000,
    scanEveryMs: 1000,
    maxPerCommand: 8,
    scans: 60,
    lastScanAtMs: atMs - 1000,
    lastScanDurationMs: 2.5,
  };
  change(init, guard);
  return buildReport({ version: '9.9.9', atMs, self: { pid: 1, tasks: 5, rssBytes: 45 * 2 ** 20 }, cgroup: {}, init, guard });
}

/** The guard's view of a pids limit of `max` with 20% headroom and `current` tasks. */
export function pidsLimit(current: number, max: number): GuardStats['limits'] {
  return { pids: { current, marks: watermarksOf({ percent: 20 }, max) } };
}
