import type { CgroupFigures } from '../cgroup/figures.js';
import type { DemandEstimate } from '../guard/demand.js';
import type { GuardStats, InstanceView, KeyLearningView, StopRecord } from '../guard/guard-stats.js';
import type { Watermarks } from '../guard/headroom.js';
import type { StopEnd, StopReason } from '../guard/stops.js';

/** Why the container is, or is not, healthy (judged by health.ts). */
export type HealthState =
  | 'ok'
  | 'degraded'
  | 'main-child-not-started'
  | 'main-child-exited'
  | 'guard-not-scanning'
  | 'stuck-at-pids-limit'
  | 'stuck-at-memory-limit';

export type Health = { healthy: boolean; state: HealthState; reason: string };

/** A limit with its marks, as the report gives it. */
export type LimitReport = { current: number } & Watermarks;

/**
 * The shape of the report, as a number: raised whenever a field changes its meaning or goes,
 * so that a `metamcp-init status` of another version says so rather than print it wrong.
 * Fields may be added without raising it.
 */
export const REPORT_SCHEMA = 1;

/** What the guard publishes: its own type, not the loop's (GuardStats), which may change at will. */
export type GuardReport = Pick<
  GuardStats,
  | 'mode'
  | 'offReason'
  | 'intervalMs'
  | 'scanEveryMs'
  | 'maxPerCommand'
  | 'maxInstances'
  | 'scans'
  | 'scanErrors'
  | 'lastScanError'
  | 'lastScanAtMs'
  | 'lastScanDurationMs'
  | 'scanSecondsTotal'
  | 'procs'
  | 'appProcs'
  | 'failedStops'
  | 'holds'
  | 'heldNow'
  | 'respawnLoops'
  | 'watchReads'
  | 'stdinClose'
> & {
  instances: InstanceView[];
  /** The limits as the last scan saw them, with the marks the guard acts at. */
  limits: { pids?: LimitReport; memory?: LimitReport };
  stops: Partial<Record<StopReason, number>>;
  stopEnds: Partial<Record<StopEnd, number>>;
  recentStops: StopRecord[];
  learnt: KeyLearningView[];
  demand: { pids?: DemandEstimate; memory?: DemandEstimate };
};

/**
 * Everything an operator can ask the running init, at one moment: what `GET /status`
 * returns as JSON, what `metamcp-init status` prints, and what /metrics and /healthz are
 * made from. Plain data, so that it crosses the wire unchanged.
 */
export type InitReport = {
  schema: typeof REPORT_SCHEMA;
  version: string;
  atMs: number;
  init: { pid: number; startedAtMs: number; tasks?: number; rssBytes?: number };
  mainChild?: { pid: number; running: boolean; exitCode?: number };
  shuttingDown: boolean;
  zombiesReaped: number;
  signalsForwarded: Record<string, number>;
  /** Read at the moment of the report, not at the last scan. */
  cgroup: CgroupFigures;
  /** The guard's figures, with its limits' marks flat and its counters as plain objects (the cgroup is the one above). */
  guard: GuardReport;
  health: Health;
};
