import { describe, expect, it } from 'vitest';
import { recordStop } from '../../src/guard/guard-stats.js';
import { pidsLimit, reportOf, T0 } from '../helpers/reports.js';

describe('buildReport', () => {
  it('turns the counters into plain objects, so that the report survives JSON', () => {
    const report = reportOf((init, guard) => {
      init.signalsForwarded.set('SIGTERM', 2);
      recordStop(guard, { atMs: T0, reason: 'orphan', key: 'k', launcherPid: 5, why: 'gone', dryRun: false, method: 'terminate' });
    });
    expect(report.signalsForwarded).toEqual({ SIGTERM: 2 });
    expect(report.guard.stops).toEqual({ orphan: 1 });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('gives the limits with their marks flat', () => {
    expect(reportOf((_, guard) => (guard.limits = pidsLimit(150, 200))).guard.limits).toEqual({
      pids: { current: 150, limit: 200, high: 160, critical: 180, low: 140 },
    });
  });

  it('leaves out the cgroup of the last scan: the report reads its own', () => {
    expect(reportOf().guard).not.toHaveProperty('cgroup');
  });

  it('judges the health of the report it builds', () => {
    expect(reportOf((init) => delete init.mainChild).health.state).toBe('main-child-not-started');
  });
});
