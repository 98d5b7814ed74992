import { describe, expect, it } from 'vitest';
import { newGuardStats, RECENT_STOPS, recordStop, viewLimits } from '../../src/guard/guard-stats.js';

describe('recordStop', () => {
  it(`counts stops by reason and keeps the last ${RECENT_STOPS}`, () => {
    const stats = newGuardStats();
    for (let i = 0; i < RECENT_STOPS + 5; i += 1) {
      recordStop(stats, { atMs: i, reason: i % 2 ? 'orphan' : 'duplicate', key: 'k', launcherPid: i, why: '', dryRun: false, method: 'terminate' });
    }
    expect(Object.fromEntries(stats.stops)).toEqual({ duplicate: 8, orphan: 7 });
    expect(stats.recentStops.map((stop) => stop.atMs)).toEqual(Array.from({ length: RECENT_STOPS }, (_, i) => i + 5));
  });
});

describe('viewLimits', () => {
  it('gives the marks of the limits found, and nothing for a cgroup without a limit', () => {
    const limits = viewLimits(
      { pids: { currentTasks: 10, maxTasks: 200, dir: '/p' }, memory: { usageBytes: 5, workingSetBytes: 4, dir: '/m' } },
      { percent: 20 },
      { percent: 10 },
    );
    expect(limits).toEqual({ pids: { current: 10, marks: { limit: 200, high: 160, critical: 180, low: 140 } } });
  });
});
