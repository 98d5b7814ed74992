import type { CgroupFigures } from '../cgroup/figures.js';
import type { GuardStats } from '../guard/guard-stats.js';
import type { Watermarks } from '../guard/headroom.js';
import type { StopReason } from '../guard/policy.js';
import type { InitStats } from '../init/init-stats.js';
import { type Health, judgeHealth } from './health.js';

/** A limit with its marks, as the report gives it. */
export type LimitReport = { current: number } & Watermarks;

/**
 * Everything an operator can ask the running init, at one moment: what `GET /status`
 * returns as JSON, what `metamcp-init status` prints, and what /metrics and /healthz are
 * made from. Plain data, so that it crosses the wire unchanged.
 */
export type InitReport = {
  version: string;
  atMs: number;
  init: { pid: number; startedAtMs: number; tasks?: number; rssBytes?: number };
  mainChild?: { pid: number; running: boolean; exitCode?: number };
  shuttingDown: boolean;
  zombiesReaped: number;
  signalsForwarded: Record<string, number>;
  /** Read at the moment of the report, not at the last scan. */
  cgroup: CgroupFigures;
  /** The guard's stats, with its limits' marks flat and its counters as plain objects (the cgroup is the one above). */
  guard: Omit<GuardStats, 'limits' | 'stops' | 'cgroup'> & {
    /** The limits as the last scan saw them, with the marks the guard acts at. */
    limits: { pids?: LimitReport; memory?: LimitReport };
    stops: Partial<Record<StopReason, number>>;
  };
  health: Health;
};

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
  const { cgroup: _atLastScan, stops, ...guard } = parts.guard;
  const limit = (view: GuardStats['limits']['pids']): LimitReport | undefined => (view ? { current: view.current, ...view.marks } : undefined);
  const limits: InitReport['guard']['limits'] = {};
  const pids = limit(guard.limits.pids);
  if (pids) limits.pids = pids;
  const memory = limit(guard.limits.memory);
  if (memory) limits.memory = memory;
  const withoutHealth: Omit<InitReport, 'health'> = {
    version: parts.version,
    atMs: parts.atMs,
    init: { ...parts.self, startedAtMs: init.startedAtMs },
    ...(init.mainChild ? { mainChild: { ...init.mainChild } } : {}),
    shuttingDown: init.shuttingDown,
    zombiesReaped: init.zombiesReaped,
    signalsForwarded: Object.fromEntries(init.signalsForwarded),
    cgroup: parts.cgroup,
    guard: { ...guard, limits, stops: Object.fromEntries(stops) },
  };
  return { ...withoutHealth, health: judgeHealth(withoutHealth) };
}
