import type { CgroupFigures } from '../cgroup/figures.js';
import type { GuardStats } from '../guard/guard-stats.js';
import type { InitStats } from '../init/init-stats.js';
import { judgeHealth } from './health.js';
import { type GuardReport, type InitReport, type LimitReport, REPORT_SCHEMA } from './init-report.js';

/** The init's own figures at the moment of the report. */
export type SelfFigures = { pid: number; tasks: number | undefined; rssBytes: number | undefined };

/** Puts the init's and the guard's figures together into one report. Pure. */
export function buildReport(parts: {
  version: string;
  atMs: number;
  self: SelfFigures;
  cgroup: CgroupFigures;
  init: InitStats;
  guard: GuardStats;
}): InitReport {
  const { init } = parts;
  const withoutHealth: Omit<InitReport, 'health'> = {
    schema: REPORT_SCHEMA,
    version: parts.version,
    atMs: parts.atMs,
    init: { ...parts.self, startedAtMs: init.startedAtMs },
    ...(init.mainChild ? { mainChild: { ...init.mainChild } } : {}),
    shuttingDown: init.shuttingDown,
    zombiesReaped: init.zombiesReaped,
    signalsForwarded: Object.fromEntries(init.signalsForwarded),
    cgroup: parts.cgroup,
    guard: guardReportOf(parts.guard),
  };
  return { ...withoutHealth, health: judgeHealth(withoutHealth) };
}

/** The guard's figures as the report gives them, field by field: what the loop keeps besides stays inside. */
export function guardReportOf(stats: GuardStats): GuardReport {
  const limit = (view: GuardStats['limits']['pids']): LimitReport | undefined => (view ? { current: view.current, ...view.marks } : undefined);
  const limits: GuardReport['limits'] = {};
  const pids = limit(stats.limits.pids);
  if (pids) limits.pids = pids;
  const memory = limit(stats.limits.memory);
  if (memory) limits.memory = memory;
  return {
    mode: stats.mode,
    offReason: stats.offReason,
    intervalMs: stats.intervalMs,
    scanEveryMs: stats.scanEveryMs,
    maxPerCommand: stats.maxPerCommand,
    maxInstances: stats.maxInstances,
    scans: stats.scans,
    scanErrors: stats.scanErrors,
    lastScanError: stats.lastScanError,
    lastScanAtMs: stats.lastScanAtMs,
    lastScanDurationMs: stats.lastScanDurationMs,
    scanSecondsTotal: stats.scanSecondsTotal,
    procs: stats.procs,
    appProcs: stats.appProcs,
    instances: stats.instances,
    limits,
    stops: Object.fromEntries(stats.stops),
    stopEnds: Object.fromEntries(stats.stopEnds),
    failedStops: stats.failedStops,
    holds: stats.holds,
    heldNow: stats.heldNow,
    respawnLoops: stats.respawnLoops,
    recentStops: stats.recentStops,
    learnt: stats.learnt,
    demand: stats.demand,
    watchReads: stats.watchReads,
    stdinClose: stats.stdinClose,
  };
}
