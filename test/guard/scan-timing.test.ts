import { describe, expect, it } from 'vitest';
import { watermarksOf } from '../../src/guard/headroom.js';
import { decideScan, MEMORY_GROWTH_BYTES_PER_MS, MEMORY_POLL_MS, nextPollMs, QUIET_SCANS, scanEveryMs } from '../../src/guard/scan-timing.js';

const OPTIONS = { intervalMs: 1000, pollMs: 100 };
const MIB = 1024 ** 2;
// 800 MiB, 25%: high 600 MiB, critical 700 MiB; a rescan every 25 MiB of growth past high.
const MARKS = watermarksOf({ percent: 25 }, 800 * MIB);
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

  it('scans when pressed, even as pids.current falls', () => {
    expect(poll({ pressed: true, msSinceLastScan: 100 })).toMatchObject({ scan: true });
    expect(poll({ pressed: true, msSinceLastScan: 100, currentTasks: 10 })).toEqual({ scan: true, seenTasks: 10 });
  });

  it('scans when a scan is due, and not before', () => {
    expect(poll({ msSinceLastScan: 999 })).toMatchObject({ scan: false });
    expect(poll({ msSinceLastScan: 1000 })).toMatchObject({ scan: true });
  });

  it('scans at once when memory passed its high mark since the last scan, and not below it', () => {
    const memory = (mib: number, seenMib = 590) => ({ memory: { bytes: mib * MIB, seenBytes: seenMib * MIB, marks: MARKS }, msSinceLastScan: 10 });
    expect(poll(memory(599))).toMatchObject({ scan: false });
    expect(poll(memory(600))).toMatchObject({ scan: true });
    expect(poll({ ...memory(650), currentTasks: undefined, seenTasks: undefined })).toMatchObject({ scan: true });
  });

  it('past the high mark, scans again at once when memory grew by an eighth of the headroom since the last scan', () => {
    const memory = (mib: number) => ({ memory: { bytes: mib * MIB, seenBytes: 610 * MIB, marks: MARKS }, msSinceLastScan: 10, pressed: true });
    expect(poll(memory(634))).toMatchObject({ scan: false });
    expect(poll(memory(635))).toMatchObject({ scan: true });
  });

  it('when pressed, scans every pollMs, not at every poll', () => {
    expect(poll({ pressed: true, msSinceLastScan: 99 })).toMatchObject({ scan: false });
    expect(poll({ pressed: true, msSinceLastScan: 100 })).toMatchObject({ scan: true });
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
  it('polls every pollMs when pressed, or with a pids cgroup without a limit (growth tells of new instances)', () => {
    expect(nextPollMs({ pressed: true, seenTasks: 10, highMark: 800 }, OPTIONS)).toBe(100);
    expect(nextPollMs({ pressed: false, seenTasks: 10, highMark: undefined }, OPTIONS)).toBe(100);
  });

  it('far from the pids high mark, waits a millisecond a task of room, at most an interval', () => {
    expect(nextPollMs({ pressed: false, seenTasks: 500, highMark: 800 }, OPTIONS)).toBe(300);
    expect(nextPollMs({ pressed: false, seenTasks: 10, highMark: 5000 }, OPTIONS)).toBe(1000);
    expect(nextPollMs({ pressed: false, seenTasks: 790, highMark: 800 }, OPTIONS)).toBe(100);
  });

  it('far from the memory high mark, waits as long as the fastest growth takes to reach it, the nearer mark first', () => {
    const memory = (roomMs: number) => ({ memory: { bytes: MARKS.high - roomMs * MEMORY_GROWTH_BYTES_PER_MS, marks: MARKS } });
    expect(nextPollMs({ pressed: false, seenTasks: undefined, highMark: undefined, ...memory(400) }, OPTIONS)).toBe(400);
    expect(nextPollMs({ pressed: false, seenTasks: undefined, highMark: undefined, ...memory(50) }, OPTIONS)).toBe(50);
    expect(nextPollMs({ pressed: false, seenTasks: undefined, highMark: undefined, ...memory(5000) }, OPTIONS)).toBe(1000);
    expect(nextPollMs({ pressed: false, seenTasks: 500, highMark: 800, ...memory(400) }, OPTIONS)).toBe(300);
    expect(nextPollMs({ pressed: false, seenTasks: 500, highMark: 1000, ...memory(400) }, OPTIONS)).toBe(400);
  });

  it(`past the memory high mark, polls every ${MEMORY_POLL_MS} ms, pressed or not`, () => {
    const past = { memory: { bytes: MARKS.high + MIB, marks: MARKS } };
    expect(nextPollMs({ pressed: false, seenTasks: undefined, highMark: undefined, ...past }, OPTIONS)).toBe(MEMORY_POLL_MS);
    expect(nextPollMs({ pressed: true, seenTasks: 500, highMark: 800, ...past }, OPTIONS)).toBe(MEMORY_POLL_MS);
  });

  it('without any cgroup figure, polls once an interval: a scan is due no sooner', () => {
    expect(nextPollMs({ pressed: false, seenTasks: undefined, highMark: undefined }, OPTIONS)).toBe(1000);
  });
});
