import { describe, expect, it } from 'vitest';
import type { ProcStat } from '../../src/proc/snapshot.js';
import { findDescendants } from '../../src/proc/tree.js';

function makeProc(pid: number, ppid: number): ProcStat {
  return { pid, ppid, pgid: pid, sid: pid, flags: 0, state: 'S', comm: 'x', startTicks: pid, threads: 1, cpuTicks: 0, rssPages: 0 };
}

function mapOf(procs: ProcStat[]): Map<number, ProcStat> {
  return new Map(procs.map((proc) => [proc.pid, proc]));
}

describe('findDescendants', () => {
  it('finds children, grandchildren and deeper, not the root or strangers', () => {
    const procs = mapOf([makeProc(1, 0), makeProc(10, 1), makeProc(11, 10), makeProc(12, 11), makeProc(20, 1), makeProc(30, 99)]);
    expect(
      findDescendants(procs, 10)
        .map((p) => p.pid)
        .sort(),
    ).toEqual([11, 12]);
    expect(
      findDescendants(procs, 1)
        .map((p) => p.pid)
        .sort(),
    ).toEqual([10, 11, 12, 20]);
  });

  it('terminates on a ppid cycle (a torn snapshot with reused pids)', () => {
    const procs = mapOf([makeProc(5, 6), makeProc(6, 5)]);
    expect(findDescendants(procs, 5).map((p) => p.pid)).toEqual([6]);
  });
});
