// The guard's decision as one pure step: what the loop remembers is in GuardState and
// nowhere else; one scan's readings go in, the next state and what to do come out. The loop
// (guard-loop.ts) only reads, steps, acts and publishes, and the tests drive this very step.
import type { CgroupFigures } from '../cgroup/figures.js';
import type { ProcInfo, ProcStat } from '../proc/snapshot.js';
import { type Activity, type InstanceState, judgeInstance, trackActivity } from './activity.js';
import { type AppLineage, adoptSeenChildren, EMPTY_LINEAGE, findAppTree } from './app-tree.js';
import { type DemandEstimate, type DemandState, EMPTY_DEMAND, type ForcedStop, judgeDemand, type LimitKind, recordForced } from './demand.js';
import { findInstances, type Instance, type KnownLauncher } from './instances.js';
import { AFTERMATH_MS, type KeyRecord, type Lesson, observeAftermaths, recordStopEnded, type Sibling, UNKNOWN_KEY } from './key-learning.js';
import { planStops } from './plan-stops.js';
import { type KeyStarts, type RespawnLoop, recordStarts } from './respawns.js';
import { type GuardConfig, makeRuleContext, type RuleContext } from './rules/context.js';
import { type HoldPlan, type Holds, NO_HOLDS, planHolds } from './rules/hold-starting.js';
import { growthOf, memoryLimitOf, pidsLimitOf } from './rules/limits.js';
import type { Stop, StopMethod } from './stops.js';

/** How big an instance of a key gets once started. */
export type Grown = { tasks: number; rssPages: number };

/** A stop the guard made and has not heard the end of (or, in a dry run, one it reported). */
export type StopUnderWay = {
  key: string;
  method: StopMethod;
  atMs: number;
  /** The app's other settled instances of the key when it was made: what it does with them tells what the stop was to it. */
  siblings: readonly Sibling[];
  /** The limit that forced it, if one did (a stop the app pays for under pressure). */
  forcedBy?: LimitKind;
  dryRun: boolean;
  /** A crash to the app as far as the guard knew: other stops of the key wait for its aftermath. */
  mayCrash: boolean;
  /** The instance had started (a tree still starting teaches nothing of how its servers end). */
  settled: boolean;
};

/** Everything the guard remembers between scans. */
export type GuardState = {
  lineage: AppLineage;
  known: ReadonlyMap<string, KnownLauncher>;
  activity: ReadonlyMap<string, Activity>;
  /** When each instance was first seen orphaned. */
  orphanSinceMs: ReadonlyMap<string, number>;
  /** The most tasks and RSS pages one instance of each key has had: what a starting one will grow to. */
  grownByKey: ReadonlyMap<string, Grown>;
  /** What the guard learnt of each key from its stops. */
  records: ReadonlyMap<string, KeyRecord>;
  /** Starts and stops of each key, to tell respawns from demand. */
  starts: ReadonlyMap<string, KeyStarts>;
  underWay: ReadonlyMap<string, StopUnderWay>;
  /** Instances the guard itself stopped lately, by id: their going is not the app's doing. */
  stoppedAtMs: ReadonlyMap<string, number>;
  /** Aftermaths whose stop was forced by a limit, by key: what the app closes after it counts as demand. */
  forcedAftermaths: ReadonlyMap<string, LimitKind>;
  /** Instances the kernel refused to let the guard stop (EPERM): left alone while they live. */
  refused: ReadonlySet<string>;
  /** Stops of each key that may have been crashes to the app, over its life (a clean one is given back once seen). */
  crashStopsByKey: ReadonlyMap<string, number>;
  demand: { pids: DemandState; memory: DemandState };
  /** Starting trees the guard holds back, and those it let go on. */
  holds: Holds;
};

export const INITIAL_GUARD_STATE: GuardState = {
  lineage: EMPTY_LINEAGE,
  known: new Map(),
  activity: new Map(),
  orphanSinceMs: new Map(),
  grownByKey: new Map(),
  records: new Map(),
  starts: new Map(),
  underWay: new Map(),
  stoppedAtMs: new Map(),
  forcedAftermaths: new Map(),
  refused: new Set(),
  crashStopsByKey: new Map(),
  demand: { pids: EMPTY_DEMAND, memory: EMPTY_DEMAND },
  holds: NO_HOLDS,
};

/** One scan's readings. */
export type Readings = {
  nowMs: number;
  /** Milliseconds since boot: start ticks in /proc count from boot. */
  uptimeMs: number;
  ticksPerSecond: number;
  pageBytes: number;
  procs: ReadonlyMap<number, ProcInfo>;
  /** Children of the app the polls saw since the last scan (child-watch.ts). */
  seenChildren: readonly ProcStat[];
  /** /proc/PID/io rchar + wchar of one process, read only for instance members. */
  readIo: (pid: number) => number | undefined;
  cgroup: CgroupFigures;
  /** Growth of pids.current and memory per second over the last polls. */
  growthPerSecond: { tasks: number; bytes: number };
  /** Whether a TERM, INT or HUP waits on a process (/proc/PID/status), read only for members of held trees. */
  closeAsked: (pid: number) => boolean;
};

/**
 * Who the guard works for. `crashBudget`: most stops of one key that the app may count as a
 * crash (Infinity: no limit); the loop sets it from --crash-budget or from what the app looks like.
 */
export type StepSettings = { config: GuardConfig; initPid: number; mainPid: number; dryRun: boolean; crashBudget?: number };

/** What one step decided, for the loop to act on and to publish. */
export type StepResult = {
  state: GuardState;
  stops: Stop[];
  /** Starting trees to hold back (SIGSTOP), and held ones to let go on (SIGCONT). */
  hold: Instance[];
  release: HoldPlan['release'];
  loops: RespawnLoop[];
  lessons: Lesson[];
  /** A demand that exceeds a limit, said once per episode. */
  demandNotices: DemandEstimate[];
  /** Keys whose crash budget this step spent to the end: said once. */
  budgetSpent: string[];
  /** The demand of each limit while an episode is under way. */
  demand: { pids?: DemandEstimate; memory?: DemandEstimate };
  /** Every instance found (refused ones too), and how each is judged. */
  instances: readonly Instance[];
  states: ReadonlyMap<string, InstanceState>;
  /** A limit is at its high mark or beyond: scan at every poll. */
  pressed: boolean;
  appProcs: number;
  /** The app's processes that launched MCP servers: the child watch looks at them. */
  spawners: readonly ProcInfo[];
};

/** The guard's step: find the app's instances, judge them, learn from what the app did, plan stops. Pure. */
export function stepGuard(before: GuardState, readings: Readings, settings: StepSettings): StepResult {
  const { nowMs, procs } = readings;
  const { config } = settings;
  const app = findAppTree({ procs, initPid: settings.initPid, mainPid: settings.mainPid, lineage: adoptSeenChildren(before.lineage, readings.seenChildren) });
  const found = findInstances({ app, initPid: settings.initPid, patterns: config.patterns, known: before.known });
  const present = new Set(found.instances.map((i) => i.id));
  const refused = new Set([...before.refused].filter((id) => present.has(id)));
  // A dry run's reports stand for stops under way until their instance is gone.
  const underWay = new Map([...before.underWay].filter(([id, stop]) => !stop.dryRun || present.has(id)));
  const stoppedAtMs = new Map([...before.stoppedAtMs].filter(([, atMs]) => nowMs - atMs < AFTERMATH_MS));

  const io = new Map<number, number>();
  for (const instance of found.instances) {
    for (const member of instance.members) {
      const bytes = readings.readIo(member.pid);
      if (bytes !== undefined) io.set(member.pid, bytes);
    }
  }
  const activity = trackActivity(nowMs, found.instances, io, before.activity);
  const states = new Map<string, InstanceState>();
  const orphanSinceMs = new Map<string, number>();
  const grownByKey = new Map(before.grownByKey);
  for (const instance of found.instances) {
    const ageMs = readings.uptimeMs - (instance.launcher.startTicks * 1000) / readings.ticksPerSecond;
    states.set(instance.id, judgeInstance(instance, activity.get(instance.id)!, ageMs, nowMs, config));
    if (instance.orphaned) orphanSinceMs.set(instance.id, before.orphanSinceMs.get(instance.id) ?? nowMs);
    const grown = grownByKey.get(instance.key);
    grownByKey.set(instance.key, { tasks: Math.max(grown?.tasks ?? 0, instance.tasks), rssPages: Math.max(grown?.rssPages ?? 0, instance.rssPages) });
  }

  // What the app did after the guard's stops: the instances it closed are gone, the guard's own are not evidence.
  const byGuard = new Set([...underWay.keys(), ...stoppedAtMs.keys()]);
  const observed = observeAftermaths(before.records, present, byGuard, nowMs);
  const forcedAftermaths = new Map(before.forcedAftermaths);
  // An interrupt of an unknown key is spent as a crash; if the app kept the others, it was clean: given back.
  const crashStopsByKey = new Map(before.crashStopsByKey);
  for (const lesson of observed.lessons) {
    if (lesson.endedBy !== 'interrupt' || lesson.closedAll) continue;
    const spent = crashStopsByKey.get(lesson.key) ?? 0;
    if (spent > 0 && before.records.get(lesson.key)?.interrupt !== 'clean') crashStopsByKey.set(lesson.key, spent - 1);
  }
  const closedForced: { pids: ForcedStop[]; memory: ForcedStop[] } = { pids: [], memory: [] };
  for (const lesson of observed.lessons) {
    const limit = forcedAftermaths.get(lesson.key);
    forcedAftermaths.delete(lesson.key);
    if (limit === undefined || lesson.closed.length === 0) continue;
    const amount = lesson.closed.reduce((total, sibling) => total + (limit === 'pids' ? sibling.tasks : sibling.rssBytes), 0);
    closedForced[limit].push({ atMs: nowMs, key: lesson.key, instances: lesson.closed.length, amount });
  }

  const instances = found.instances.filter((i) => !refused.has(i.id));
  const keysInFlight = new Set([...underWay.values()].filter((stop) => stop.mayCrash).map((stop) => stop.key));
  const contextInput = {
    nowMs,
    config,
    cgroup: readings.cgroup,
    pageBytes: readings.pageBytes,
    instances,
    growthPerSecond: readings.growthPerSecond,
    states,
    activity,
    orphanSinceMs,
    grownByKey,
    records: observed.records,
    starts: before.starts,
    keysInFlight,
    crashesLeft: (key: string) => (settings.crashBudget ?? Number.POSITIVE_INFINITY) - (crashStopsByKey.get(key) ?? 0),
  };
  const ctx = makeRuleContext(contextInput);
  const plan = planStops(ctx, { ids: new Set(underWay.keys()), keys: keysInFlight });

  for (const stop of plan.stops) underWay.set(stop.instance.id, underWayOf(ctx, stop, nowMs, settings.dryRun));
  const budgetSpent: string[] = [];
  if (!settings.dryRun) {
    for (const stop of plan.stops) {
      if (stop.evidence.cost !== 'crash') continue;
      const spent = (crashStopsByKey.get(stop.instance.key) ?? 0) + 1;
      crashStopsByKey.set(stop.instance.key, spent);
      if (spent === settings.crashBudget) budgetSpent.push(stop.instance.key);
    }
  }
  for (const [key, limit] of forcedOf(plan.stops)) forcedAftermaths.set(key, limit);
  const holding = planHolds(ctx, before.holds, {
    pressed: plan.pressed,
    stopping: new Set(underWay.keys()),
    closeAsked: (instance) => instance.members.some((member) => readings.closeAsked(member.pid)),
    dryRun: settings.dryRun,
  });

  // Starts of keys the app holds (an orphan is nobody's start); the stops nothing forced of instances it held.
  const started = found.instances.filter((i) => !before.activity.has(i.id) && !i.orphaned).map((i) => i.key);
  const stoppedKeys = plan.stops.filter((s) => !s.instance.orphaned && !settings.dryRun && isOptional(s)).map((s) => s.instance.key);
  const recorded = recordStarts(before.starts, started, stoppedKeys, (key) => ctx.byKey.get(key)?.length ?? 0, nowMs);

  const demandNotices: DemandEstimate[] = [];
  const demand: StepResult['demand'] = {};
  const demandState = { ...before.demand };
  for (const limit of ['pids', 'memory'] as const) {
    const forced = [...forcedStopsOf(plan.stops, limit, readings.pageBytes, nowMs), ...closedForced[limit]];
    if (forced.length === 0 && isPastCritical(ctx, limit)) forced.push({ atMs: nowMs, key: '', instances: 0, amount: 0, heldBack: true });
    const figures = demandFigures(ctx, limit, holding.holds);
    let next = recordForced(before.demand[limit], settings.dryRun ? [] : forced, nowMs);
    if (figures) {
      const judged = judgeDemand(next, figures, nowMs);
      next = judged.state;
      if (judged.exceeded) demand[limit] = judged.exceeded;
      if (judged.newEpisode && judged.exceeded) demandNotices.push(judged.exceeded);
    }
    demandState[limit] = next;
  }

  return {
    state: {
      lineage: app.lineage,
      known: found.known,
      activity,
      orphanSinceMs,
      grownByKey,
      records: observed.records,
      starts: recorded.starts,
      underWay,
      stoppedAtMs,
      forcedAftermaths,
      refused,
      crashStopsByKey,
      demand: demandState,
      holds: holding.holds,
    },
    stops: plan.stops,
    hold: holding.hold,
    release: holding.release,
    loops: recorded.loops,
    lessons: observed.lessons,
    demandNotices,
    budgetSpent,
    demand,
    instances: found.instances,
    states,
    pressed: plan.pressed,
    appProcs: app.procs.size,
    spawners: spawnersOf(procs, settings.mainPid, found.instances),
  };
}

/** How a stop the loop made ended. */
export type StopOutcome = { id: string; endedBy: StopMethod | 'kill' } | { id: string; refused: true } | { id: string; failed: true };

/**
 * A stop ended: it is no longer under way, and what the app does next with the key's other
 * instances is watched (key-learning.ts). A stop the kernel refused leaves that instance alone.
 */
export function finishStop(state: GuardState, end: StopOutcome, nowMs: number): GuardState {
  const stop = state.underWay.get(end.id);
  if (!stop) return state;
  const underWay = new Map(state.underWay);
  underWay.delete(end.id);
  if ('refused' in end) return { ...state, underWay, refused: new Set([...state.refused, end.id]) };
  const stoppedAtMs = new Map(state.stoppedAtMs).set(end.id, nowMs);
  if ('failed' in end) return { ...state, underWay, stoppedAtMs };
  const records = new Map(state.records);
  records.set(
    stop.key,
    recordStopEnded(records.get(stop.key) ?? UNKNOWN_KEY, { method: stop.method, endedBy: end.endedBy, siblings: stop.siblings, settled: stop.settled }, nowMs),
  );
  return { ...state, underWay, stoppedAtMs, records };
}

function underWayOf(ctx: RuleContext, stop: Stop, nowMs: number, dryRun: boolean): StopUnderWay {
  const { instance } = stop;
  // The app's view of a stop shows in its settled instances of the key: it does not close those still connecting.
  const siblings = instance.orphaned
    ? []
    : (ctx.byKey.get(instance.key) ?? [])
        .filter((i) => i !== instance && !i.orphaned && !ctx.stateOf(i).starting)
        .map((i) => ({ id: i.id, tasks: i.tasks, rssBytes: i.rssPages * ctx.pageBytes }));
  const forcedBy = forcedLimitOf(stop);
  return {
    key: instance.key,
    method: stop.method,
    atMs: nowMs,
    siblings,
    ...(forcedBy ? { forcedBy } : {}),
    dryRun,
    mayCrash: stop.evidence.cost === 'crash',
    settled: !stop.evidence.starting,
  };
}

/** A stop nothing forced: a trim, or one at the high mark (what it costs the app is nothing, or what it tolerates). */
function isOptional(stop: Stop): boolean {
  return stop.evidence.pressure === undefined || stop.evidence.pressure === 'high';
}

/** A stop the app pays for, made because a limit was in danger. */
function forcedLimitOf(stop: Stop): LimitKind | undefined {
  if (stop.evidence.cost === 'free' || stop.evidence.pressure === undefined || stop.evidence.pressure === 'high') return undefined;
  return stop.reason === 'pids-headroom' ? 'pids' : stop.reason === 'memory-headroom' ? 'memory' : undefined;
}

function forcedOf(stops: readonly Stop[]): Map<string, LimitKind> {
  const forced = new Map<string, LimitKind>();
  for (const stop of stops) {
    const limit = forcedLimitOf(stop);
    if (limit) forced.set(stop.instance.key, limit);
  }
  return forced;
}

function forcedStopsOf(stops: readonly Stop[], limit: LimitKind, pageBytes: number, nowMs: number): ForcedStop[] {
  return stops
    .filter((stop) => forcedLimitOf(stop) === limit)
    .map((stop) => ({
      atMs: nowMs,
      key: stop.instance.key,
      instances: 1,
      amount: limit === 'pids' ? stop.instance.tasks : stop.instance.rssPages * pageBytes,
    }));
}

function demandFigures(ctx: RuleContext, limit: LimitKind, holds: Holds) {
  const keys = [...ctx.byKey.keys()];
  // A held start is at its first task or two: what it would grow to is demand as much as usage.
  const spec = limit === 'pids' ? pidsLimitOf(ctx) : memoryLimitOf(ctx);
  const waiting = spec === undefined ? 0 : ctx.instances.filter((i) => holds.heldSinceMs.has(i.id)).reduce((total, i) => total + growthOf(spec, i), 0);
  const perTree =
    keys.length === 0
      ? 0
      : keys.reduce((total, key) => total + (limit === 'pids' ? ctx.grownOf(key).tasks : ctx.grownOf(key).rssPages * ctx.pageBytes), 0) / keys.length;
  const figures = { keys: keys.length, instances: ctx.instances.length, perTree: Math.round(perTree), waiting };
  if (limit === 'pids') {
    const pids = ctx.cgroup.pids;
    return pids?.maxTasks === undefined
      ? undefined
      : { limit, limitAmount: pids.maxTasks, usage: pids.currentTasks, headroom: ctx.config.pidsHeadroom, ...figures };
  }
  const memory = ctx.cgroup.memory;
  return memory?.limitBytes === undefined
    ? undefined
    : { limit, limitAmount: memory.limitBytes, usage: memory.workingSetBytes, headroom: ctx.config.memoryHeadroom, ...figures };
}

/** Usage at or past the limit's critical mark. */
function isPastCritical(ctx: RuleContext, limit: LimitKind): boolean {
  const spec = limit === 'pids' ? pidsLimitOf(ctx) : memoryLimitOf(ctx);
  return spec !== undefined && spec.usage >= spec.marks.critical;
}

/** The main child and the app's processes that launched MCP servers (the parents of launchers). */
function spawnersOf(procs: ReadonlyMap<number, ProcInfo>, mainPid: number, instances: readonly Instance[]): ProcInfo[] {
  const spawners: ProcInfo[] = [];
  const main = procs.get(mainPid);
  if (main) spawners.push(main);
  for (const instance of instances) {
    const launcher = procs.get(instance.launcher.pid);
    const parent = launcher && launcher.startTicks === instance.launcher.startTicks ? procs.get(launcher.ppid) : undefined;
    if (parent && parent.pid !== mainPid && !instance.orphaned && !spawners.includes(parent)) spawners.push(parent);
  }
  return spawners;
}
