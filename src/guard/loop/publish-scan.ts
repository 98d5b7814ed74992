// What one scan saw and did, told to the stats (the metrics, /status and the report read them).
import { viewInstances, viewLearnt } from '../guard-stats.js';
import type { Readings, StepResult } from '../step.js';
import type { GuardLoop } from './loop-parts.js';

export function publishScan(loop: GuardLoop, { procs, cgroup }: Readings, result: StepResult, durationMs: number): void {
  const { stats } = loop.options;
  const { guard, seen } = loop.state;
  Object.assign(stats, {
    scans: stats.scans + 1,
    lastScanAtMs: Date.now(),
    lastScanDurationMs: durationMs,
    scanSecondsTotal: stats.scanSecondsTotal + durationMs / 1000,
    procs: procs.size,
    appProcs: result.appProcs,
    instances: viewInstances(result.instances, result.states, loop.pageBytes, guard.refused, guard.underWay, loop.publish),
    cgroup,
    limits: seen.limits,
    learnt: viewLearnt(guard.records, loop.publish),
    demand: result.demand,
    watchReads: loop.watch?.reads ?? 0,
  });
}
