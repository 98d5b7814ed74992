import type { CgroupFigures } from '../cgroup/figures.js';
import type { InstanceState } from './activity.js';
import type { DemandEstimate } from './demand.js';
import { type Headroom, type Watermarks, watermarksOf } from './headroom.js';
import type { Instance } from './instances.js';
import type { InterruptVerdict, KeyRecord } from './key-learning.js';
import type { StopEnd, StopMethod, StopReason } from './stops.js';

/** One instance as an operator sees it. */
export type InstanceView = {
  key: string;
  launcherPid: number;
  orphaned: boolean;
  starting: boolean;
  busy: boolean;
  idle: boolean;
  ageMs: number;
  idleMs: number;
  tasks: number;
  rssBytes: number;
  /** The kernel refused to stop it (EPERM): the guard leaves it alone. */
  refused: boolean;
  /** The guard is stopping it now (TERM sent, within its stop grace). */
  stopping: boolean;
};

/** The states an operator sees, one per instance. */
export const INSTANCE_STATES = ['stopping', 'orphaned', 'starting', 'busy', 'settled', 'idle'] as const;
export type InstanceViewState = (typeof INSTANCE_STATES)[number];

/** An instance's one state, the first that holds in INSTANCE_STATES' order. */
export function stateOfView(view: InstanceView): InstanceViewState {
  if (view.stopping) return 'stopping';
  if (view.orphaned) return 'orphaned';
  if (view.starting) return 'starting';
  if (view.busy) return 'busy';
  return view.idle ? 'idle' : 'settled';
}

/** One limit the guard watches, with the marks at which it acts. */
export type LimitView = { current: number; marks: Watermarks };

/** One stop, as the last few are kept for `status`; `endedBy` once it ended. */
export type StopRecord = {
  atMs: number;
  reason: StopReason;
  key: string;
  launcherPid: number;
  why: string;
  dryRun: boolean;
  method: StopMethod;
  endedBy?: StopEnd;
};

/** What the guard learnt of one key from its stops. */
export type KeyLearningView = { key: string; interrupt: InterruptVerdict; crashFreesKey?: boolean };

/** How many stops are kept for `status`. */
export const RECENT_STOPS = 10;

/**
 * What the guard has seen and done, for an operator to read: the loop writes it after each
 * scan, the report reads it. Bounded: the instances of the last scan and the last stops.
 */
export type GuardStats = {
  /** off: by --guard-off, or because it cannot run here (offReason says why). */
  mode: 'on' | 'dry-run' | 'off';
  offReason?: string;
  intervalMs: number;
  /** How often a full scan is due now: the interval, or more while nothing is there to guard. */
  scanEveryMs: number;
  /** The caps: most instances of one key, and in all. */
  maxPerCommand?: number;
  maxInstances?: number;
  scans: number;
  scanErrors: number;
  lastScanError?: string;
  /** When the last scan completed. */
  lastScanAtMs?: number;
  lastScanDurationMs?: number;
  scanSecondsTotal: number;
  /** Processes in the namespace, and of those the app's, at the last scan. */
  procs: number;
  appProcs: number;
  instances: InstanceView[];
  cgroup: CgroupFigures;
  limits: { pids?: LimitView; memory?: LimitView };
  stops: Map<StopReason, number>;
  /** Stops that ended, by what ended them. */
  stopEnds: Map<StopEnd, number>;
  /** Stops the kernel refused, and stops that failed otherwise. */
  failedStops: number;
  /** Starting trees held back (SIGSTOP) so far, and held now. */
  holds: number;
  heldNow: number;
  respawnLoops: number;
  recentStops: StopRecord[];
  /** What the guard learnt of each key it stopped (at most MAX_LEARNT_KEYS). */
  learnt: KeyLearningView[];
  /** A limit the app's steady demand exceeds, with the figure that would fit (while the episode lasts). */
  demand: { pids?: DemandEstimate; memory?: DemandEstimate };
  /** Files the child watch read (children lists and the stats of new children), for its cost. */
  watchReads: number;
  /** Whether stops may close a server's stdin, and if not, why (the start-up probe, or a refusal since). */
  stdinClose?: { available: boolean; why?: string };
};

/** Keys whose learning is shown, at most. */
export const MAX_LEARNT_KEYS = 20;

/** The learning of each key, as an operator sees it. */
export function viewLearnt(records: ReadonlyMap<string, KeyRecord>, publish: (key: string) => string = (key) => key): KeyLearningView[] {
  return [...records].slice(0, MAX_LEARNT_KEYS).map(([key, record]) => ({
    key: publish(key),
    interrupt: record.interrupt,
    ...(record.crashFreesKey === undefined ? {} : { crashFreesKey: record.crashFreesKey }),
  }));
}

export function newGuardStats(): GuardStats {
  return {
    mode: 'off',
    intervalMs: 0,
    scanEveryMs: 0,
    scans: 0,
    scanErrors: 0,
    scanSecondsTotal: 0,
    procs: 0,
    appProcs: 0,
    instances: [],
    cgroup: {},
    limits: {},
    stops: new Map(),
    stopEnds: new Map(),
    failedStops: 0,
    respawnLoops: 0,
    recentStops: [],
    learnt: [],
    demand: {},
    watchReads: 0,
    holds: 0,
    heldNow: 0,
  };
}

/** The instances of one scan as an operator sees them. */
export function viewInstances(
  instances: readonly Instance[],
  states: ReadonlyMap<string, InstanceState>,
  pageBytes: number,
  refused: ReadonlySet<string>,
  stopping: { has: (id: string) => boolean },
  publish: (key: string) => string = (key) => key,
): InstanceView[] {
  const views: InstanceView[] = [];
  for (const instance of instances) {
    const state = states.get(instance.id);
    views.push({
      key: publish(instance.key),
      launcherPid: instance.launcher.pid,
      orphaned: instance.orphaned,
      starting: state?.starting ?? false,
      busy: state?.busy ?? false,
      idle: state?.idle ?? false,
      ageMs: Math.round(state?.ageMs ?? 0),
      idleMs: Math.round(state?.idleMs ?? 0),
      tasks: instance.tasks,
      rssBytes: instance.rssPages * pageBytes,
      refused: refused.has(instance.id),
      stopping: stopping.has(instance.id),
    });
  }
  return views;
}

/** The limits found in the cgroup, with the marks the headroom settings put on them. */
export function viewLimits(cgroup: CgroupFigures, pidsHeadroom: Headroom, memoryHeadroom: Headroom): GuardStats['limits'] {
  const limits: GuardStats['limits'] = {};
  const { pids, memory } = cgroup;
  if (pids?.maxTasks !== undefined) limits.pids = { current: pids.currentTasks, marks: watermarksOf(pidsHeadroom, pids.maxTasks) };
  if (memory?.limitBytes !== undefined) limits.memory = { current: memory.workingSetBytes, marks: watermarksOf(memoryHeadroom, memory.limitBytes) };
  return limits;
}

/** Adds a stop to the counters and to the last few kept. */
export function recordStop(stats: GuardStats, stop: StopRecord): void {
  stats.stops.set(stop.reason, (stats.stops.get(stop.reason) ?? 0) + 1);
  stats.recentStops.push(stop);
  if (stats.recentStops.length > RECENT_STOPS) stats.recentStops.splice(0, stats.recentStops.length - RECENT_STOPS);
}

/** Adds how a stop ended to the counters, and to its record if it is still among the last few. */
export function recordStopEnd(stats: GuardStats, stop: StopRecord, endedBy: StopEnd): void {
  stats.stopEnds.set(endedBy, (stats.stopEnds.get(endedBy) ?? 0) + 1);
  stop.endedBy = endedBy;
}
