import { describe, expect, it } from 'vitest';
import { decideScan, nextPollMs, QUIET_SCANS, scanEveryMs } from '../../src/guard/scan-timing.js';

const OPTIONS = { intervalMs: 1000, pollMs: 100 };
const poll = (state: Partial<Parameters<typeof decideScan>[0]>) =>
  decideScan({ currentTasks: 50, seenTasks: 50, pressed: false, instances: 1, msSinceLastScan: 0, ...state }, OPTIONS);

describe('decideScan', () => {
  it('scans at once when pids.current grew', () => {
    expect(poll({ currentTasks: 51 })).toEqual({ scan: true, seenTasks: 50 });
  });

  it('does not scan when pids.current fell, and remembers the lower count', () => {
    expect(poll({ currentTasks: 10 })).toEqual({ scan: false, seenTasks: 10 });
  });

  it('scans at once when pids.current grows again from where it fell, though below where it was', () => {
    const fell = poll({ currentTasks: 10 });
    expect(poll({ currentTasks: 30, seenTasks: fell.seenTasks })).toMatchObject({ scan: true });
  });

  it('scans at every poll when pressed, even as pids.current falls', () => {
    expect(poll({ pressed: true })).toMatchObject({ scan: true });
    expect(poll({ pressed: true, currentTasks: 10 })).toEqual({ scan: true, seenTasks: 10 });
  });

  it('scans when a scan is due, and not before', () => {
    expect(poll({ msSinceLastScan: 999 })).toMatchObject({ scan: false });
    expect(poll({ msSinceLastScan: 1000 })).toMatchObject({ scan: true });
  });

  it('scans at every interval without a pids cgroup', () => {
    const none = { currentTasks: undefined, seenTasks: undefined, instances: 0 };
    expect(poll({ ...none, msSinceLastScan: 999 })).toMatchObject({ scan: false });
    expect(poll({ ...none, msSinceLastScan: 1000 })).toMatchObject({ scan: true });
  });
});

describe('scanEveryMs', () => {
  it('is the interval while there are MCP instances or pressure', () => {
    expect(scanEveryMs({ currentTasks: 50, pressed: false, instances: 1 }, OPTIONS)).toBe(1000);
    expect(scanEveryMs({ currentTasks: 50, pressed: true, instances: 0 }, OPTIONS)).toBe(1000);
  });

  it(`is ${QUIET_SCANS} intervals with no MCP instance, where pids.current tells of any new process`, () => {
    expect(scanEveryMs({ currentTasks: 50, pressed: false, instances: 0 }, OPTIONS)).toBe(QUIET_SCANS * 1000);
    expect(scanEveryMs({ currentTasks: undefined, pressed: false, instances: 0 }, OPTIONS)).toBe(1000);
  });
});

describe('nextPollMs', () => {
  it('polls every pollMs when pressed or without a high mark', () => {
    expect(nextPollMs({ pressed: true, seenTasks: 10, highMark: 800 }, OPTIONS)).toBe(100);
    expect(nextPollMs({ pressed: false, seenTasks: 10, highMark: undefined }, OPTIONS)).toBe(100);
  });

  it('far from the high mark, waits a millisecond a task of room, at most an interval', () => {
    expect(nextPollMs({ pressed: false, seenTasks: 500, highMark: 800 }, OPTIONS)).toBe(300);
    expect(nextPollMs({ pressed: false, seenTasks: 10, highMark: 5000 }, OPTIONS)).toBe(1000);
    expect(nextPollMs({ pressed: false, seenTasks: 790, highMark: 800 }, OPTIONS)).toBe(100);
  });
});
