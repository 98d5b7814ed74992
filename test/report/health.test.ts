import { describe, expect, it } from 'vitest';
import { watermarksOf } from '../../src/guard/headroom.js';
import { pidsLimit, reportOf, T0, view } from '../helpers/reports.js';

describe('judgeHealth', () => {
  it('is healthy while the main child runs, the guard scans and no limit is stuck', () => {
    expect(reportOf().health).toEqual({ healthy: true, state: 'ok', reason: expect.stringContaining('the guard scans') });
  });

  it('is unhealthy before the main child has started', () => {
    expect(reportOf((init) => delete init.mainChild).health.state).toBe('main-child-not-started');
  });

  it('is unhealthy once the main child has exited, with its status', () => {
    const health = reportOf((init) => (init.mainChild = { pid: 7, running: false, exitCode: 3 })).health;
    expect(health).toMatchObject({ healthy: false, state: 'main-child-exited' });
    expect(health.reason).toContain('status 3');
  });

  it('stays healthy during a shutdown while the main child still runs: a failing probe would cut the grace short', () => {
    expect(reportOf((init) => (init.shuttingDown = true)).health.healthy).toBe(true);
  });

  it('is unhealthy when the last completed scan is older than five scan gaps and 10 s, with the last scan error', () => {
    const stale = reportOf((_, guard) => Object.assign(guard, { lastScanAtMs: T0 + 60_000 - 10_001, lastScanError: 'spawn ps EAGAIN' }));
    expect(stale.health).toMatchObject({ healthy: false, state: 'guard-not-scanning' });
    expect(stale.health.reason).toContain('spawn ps EAGAIN');
    expect(reportOf((_, guard) => (guard.lastScanAtMs = T0 + 60_000 - 9_999)).health.healthy).toBe(true);
    const slowInterval = reportOf((_, guard) => Object.assign(guard, { intervalMs: 5000, scanEveryMs: 5000, lastScanAtMs: T0 + 60_000 - 20_000 }));
    expect(slowInterval.health.healthy).toBe(true);
    // With nothing to guard the loop scans every 10 intervals: five of those gaps, not of intervals.
    const quiet = (sinceMs: number) => reportOf((_, guard) => Object.assign(guard, { scanEveryMs: 10_000, lastScanAtMs: T0 + 60_000 - sinceMs }));
    expect(quiet(45_000).health.healthy).toBe(true);
    expect(quiet(51_000).health.state).toBe('guard-not-scanning');
  });

  it('counts from the start when no scan has completed yet', () => {
    expect(reportOf((_, guard) => delete guard.lastScanAtMs, T0 + 5_000).health.healthy).toBe(true);
    expect(reportOf((_, guard) => delete guard.lastScanAtMs, T0 + 11_000).health.reason).toContain('no scan has completed');
  });

  it('does not judge scans when the guard is off', () => {
    expect(reportOf((_, guard) => Object.assign(guard, { mode: 'off', lastScanAtMs: undefined })).health.healthy).toBe(true);
  });

  it('is stuck at the pids limit when past its critical mark with no instance the guard may stop', () => {
    // pids.max 200, headroom 20%: high 160, critical 180.
    expect(reportOf((_, guard) => (guard.limits = pidsLimit(180, 200))).health).toMatchObject({ healthy: false, state: 'stuck-at-pids-limit' });
    expect(reportOf((_, guard) => (guard.limits = pidsLimit(179, 200))).health.healthy).toBe(true);
    const refusedOnly = reportOf((_, guard) => Object.assign(guard, { limits: pidsLimit(195, 200), instances: [view('a', { refused: true })] }));
    expect(refusedOnly.health.state).toBe('stuck-at-pids-limit');
  });

  it('is not stuck while an instance is left that the guard may stop', () => {
    const report = reportOf((_, guard) => Object.assign(guard, { limits: pidsLimit(200, 200), instances: [view('a', { busy: true, idle: false })] }));
    expect(report.health.healthy).toBe(true);
  });

  it('is stuck at the memory limit the same way', () => {
    const memory = { current: 950 * 2 ** 20, marks: watermarksOf({ percent: 10 }, 1000 * 2 ** 20) };
    expect(reportOf((_, guard) => (guard.limits = { memory })).health).toMatchObject({ healthy: false, state: 'stuck-at-memory-limit' });
  });
});
