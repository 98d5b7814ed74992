// The guard's decision as one pure step: what the loop remembers is in GuardState and
// nowhere else; one scan's readings go in, the next state and what to do come out. The loop
// (guard-loop.ts) only reads, steps, acts and publishes, and the tests drive this very step.
import type { CgroupFigures } from '../cgroup/figures.js';
import type { ProcInfo, ProcRef, ProcStat } from '../proc/snapshot.js';
import type { Activity, InstanceState } from './activity.js';
import { type AppLineage, type AppTree, adoptSeenChildren, EMPTY_LINEAGE, findAppTree } from './app-tree.js';
import { settleInterrupts, settleStopEnd, spendCrashes } from './crash-budget.js';
import { type DemandEstimate, type DemandState, EMPTY_DEMAND, type LimitKind } from './demand.js';
import { closedAfterForced, forcedLimitOf, forcedOf, isOptional, judgeLimits, type LimitDemands } from './forced-demand.js';
import { findInstances, type Instance, type KnownLauncher } from './instances.js';
import { type Grown, type Judged, judgeInstances } from './judge-instances.js';
import { AFTERMATH_MS, type KeyRecord, type Lesson, markAmidCrashes, observeAftermaths, recordStopEnded, type Sibling, UNKNOWN_KEY } from './key-learning.js';
import { planStops } from './plan-stops.js';
import { type KeyStarts, type RespawnLoop, recordStarts } from './respawns.js';
import { type GuardConfig, makeRuleContext, type RuleContext } from './rules/context.js';
import { type HoldPlan, type Holds, NO_HOLDS, planHolds } from './rules/hold-starting.js';
import type { Stop, StopCost, StopEnd, StopMethod } from './stops.js';

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
  /** What it costs the app as far as the guard knew ('crash': other stops of the key wait for its aftermath). */
  cost: StopCost;
  /** The instance had started (a tree still starting teaches nothing of how its servers end). */
  settled: boolean;
  /** It asked for an exit 0 while a TERM of its key, a crash for sure, was under way: the app's answer would be to that one. */
  amidCrash?: boolean;
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
  /** Whether a launcher's stdin can be closed (proc/close-stdin.ts), read only for those a rule would stop. */
  stdinClosable: (launcher: ProcRef) => boolean;
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
  const seen = seeInstances(before, readings, settings);
  const learnt = learnFromAftermaths(before, seen, readings);
  const ctx = ruleContextOf(before, seen, learnt, readings, settings);
  const decided = decide(before, ctx, seen, learnt, readings, settings);
  return {
    state: nextState(seen, learnt, decided),
    stops: decided.plan.stops,
    hold: decided.holding.hold,
    release: decided.holding.release,
    loops: decided.recorded.loops,
    lessons: learnt.lessons,
    demandNotices: decided.limits.notices,
    budgetSpent: decided.budgetSpent,
    demand: decided.limits.demand,
    instances: seen.found.instances,
    states: seen.states,
    pressed: decided.plan.pressed,
    appProcs: seen.app.procs.size,
    spawners: spawnersOf(readings.procs, settings.mainPid, seen.found.instances),
  };
}

/** What the scan sees: the app's tree and instances, how each is judged, and which of the guard's stops still stand. */
type Seen = Judged & {
  app: AppTree;
  found: { instances: Instance[]; known: Map<string, KnownLauncher> };
  present: ReadonlySet<string>;
  /** The instances the rules see: those the kernel let the guard stop. */
  instances: Instance[];
  refused: Set<string>;
  underWay: Map<string, StopUnderWay>;
  stoppedAtMs: Map<string, number>;
  /** Keys with a stop under way that may be a crash to the app. */
  keysInFlight: Set<string>;
};

function seeInstances(before: GuardState, readings: Readings, settings: StepSettings): Seen {
  const { nowMs, procs } = readings;
  const lineage = adoptSeenChildren(before.lineage, readings.seenChildren);
  const app = findAppTree({ procs, initPid: settings.initPid, mainPid: settings.mainPid, lineage });
  const found = findInstances({ app, initPid: settings.initPid, patterns: settings.config.patterns, known: before.known });
  const present = new Set(found.instances.map((i) => i.id));
  const refused = new Set([...before.refused].filter((id) => present.has(id)));
  // A dry run's reports stand for stops under way until their instance is gone.
  const underWay = new Map([...before.underWay].filter(([id, stop]) => !stop.dryRun || present.has(id)));
  const stoppedAtMs = new Map([...before.stoppedAtMs].filter(([, atMs]) => nowMs - atMs < AFTERMATH_MS));
  return {
    app,
    found,
    present,
    instances: found.instances.filter((i) => !refused.has(i.id)),
    refused,
    underWay,
    stoppedAtMs,
    keysInFlight: new Set([...underWay.values()].filter((stop) => stop.cost === 'crash').map((stop) => stop.key)),
    ...judgeInstances(found.instances, readings, before, settings.config),
  };
}

/** What the app did after the guard's stops, and what that gives back of crash budgets and tells of demand. */
type Learnt = ReturnType<typeof closedAfterForced> & {
  records: ReadonlyMap<string, KeyRecord>;
  lessons: Lesson[];
  crashStopsByKey: Map<string, number>;
};

function learnFromAftermaths(before: GuardState, seen: Seen, readings: Readings): Learnt {
  const { nowMs } = readings;
  // What the app did after the guard's stops: the instances it closed are gone, the guard's own are not evidence.
  const byGuard = new Set([...seen.underWay.keys(), ...seen.stoppedAtMs.keys()]);
  const observed = observeAftermaths(before.records, seen.present, byGuard, nowMs);
  return {
    records: observed.records,
    lessons: observed.lessons,
    crashStopsByKey: settleInterrupts(before.crashStopsByKey, observed.lessons),
    ...closedAfterForced(before.forcedAftermaths, observed.lessons, nowMs),
  };
}

function ruleContextOf(before: GuardState, seen: Seen, learnt: Learnt, readings: Readings, settings: StepSettings): RuleContext {
  return makeRuleContext({
    nowMs: readings.nowMs,
    config: settings.config,
    cgroup: readings.cgroup,
    pageBytes: readings.pageBytes,
    instances: seen.instances,
    growthPerSecond: readings.growthPerSecond,
    states: seen.states,
    activity: seen.activity,
    orphanSinceMs: seen.orphanSinceMs,
    grownByKey: seen.grownByKey,
    records: learnt.records,
    starts: before.starts,
    keysInFlight: seen.keysInFlight,
    crashesLeft: (key: string) => (settings.crashBudget ?? Number.POSITIVE_INFINITY) - (learnt.crashStopsByKey.get(key) ?? 0),
    launcherStdinClosable: (launcher) => settings.config.stdinCloses && readings.stdinClosable(launcher),
  });
}

/** What the step decided: stops, holds, the starts it counts and the demand of each limit. */
type Decided = {
  plan: ReturnType<typeof planStops>;
  holding: HoldPlan;
  recorded: ReturnType<typeof recordStarts>;
  limits: LimitDemands;
  budgetSpent: string[];
};

// The stops planned join those under way, spend crash budgets and open forced aftermaths
// (in `seen` and `learnt`, which are this step's own) before the holds are planned around them.
function decide(before: GuardState, ctx: RuleContext, seen: Seen, learnt: Learnt, readings: Readings, settings: StepSettings): Decided {
  const { nowMs } = readings;
  const plan = planStops(ctx, { ids: new Set(seen.underWay.keys()), keys: seen.keysInFlight });
  for (const stop of plan.stops) seen.underWay.set(stop.instance.id, underWayOf(ctx, stop, nowMs, settings.dryRun));
  ({ underWay: seen.underWay, records: learnt.records } = markAmidCrashes(seen.underWay, learnt.records, nowMs));
  const budgetSpent = spendCrashes(learnt.crashStopsByKey, plan.stops, settings);
  for (const [key, limit] of forcedOf(plan.stops)) learnt.forcedAftermaths.set(key, limit);
  const holding = planHolds(ctx, before.holds, {
    pressed: plan.pressed,
    stopping: new Set(seen.underWay.keys()),
    closeAsked: (instance) => instance.members.some((member) => readings.closeAsked(member.pid)),
    dryRun: settings.dryRun,
  });
  const recorded = recordStartsOf(before, seen, ctx, plan.stops, settings.dryRun, nowMs);
  const limits = judgeLimits(before.demand, ctx, plan.stops, learnt.closedForced, holding.holds, settings.dryRun);
  return { plan, holding, recorded, limits, budgetSpent };
}

// Starts of keys the app holds (an orphan is nobody's start); the stops nothing forced of instances it held.
function recordStartsOf(before: GuardState, seen: Seen, ctx: RuleContext, stops: readonly Stop[], dryRun: boolean, nowMs: number) {
  const started = seen.found.instances.filter((i) => !before.activity.has(i.id) && !i.orphaned).map((i) => i.key);
  const stoppedKeys = stops.filter((s) => !s.instance.orphaned && !dryRun && isOptional(s)).map((s) => s.instance.key);
  return recordStarts(before.starts, started, stoppedKeys, (key) => ctx.byKey.get(key)?.length ?? 0, nowMs);
}

function nextState(seen: Seen, learnt: Learnt, decided: Decided): GuardState {
  return {
    lineage: seen.app.lineage,
    known: seen.found.known,
    activity: seen.activity,
    orphanSinceMs: seen.orphanSinceMs,
    grownByKey: seen.grownByKey,
    records: learnt.records,
    starts: decided.recorded.starts,
    underWay: seen.underWay,
    stoppedAtMs: seen.stoppedAtMs,
    forcedAftermaths: learnt.forcedAftermaths,
    refused: seen.refused,
    crashStopsByKey: learnt.crashStopsByKey,
    demand: decided.limits.state,
    holds: decided.holding.holds,
  };
}

/** How a stop the loop made ended. */
/** How a stop ended; `unmade`: its stdin close could not be made (proc/close-stdin.ts), which says nothing of its key. */
export type StopOutcome = { id: string; endedBy: StopEnd; unmade?: boolean } | { id: string; refused: true } | { id: string; failed: true };

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
  // A tree gone before the stop reached it was not the guard's doing: if the app closed it, its
  // going is evidence of the app's answer to another stop (observeAftermaths).
  const stoppedAtMs = 'endedBy' in end && end.endedBy === 'gone' ? state.stoppedAtMs : new Map(state.stoppedAtMs).set(end.id, nowMs);
  if ('failed' in end) return { ...state, underWay, stoppedAtMs };
  const records = new Map(state.records);
  const charged = stop.cost === 'crash';
  records.set(
    stop.key,
    recordStopEnded(
      records.get(stop.key) ?? UNKNOWN_KEY,
      { method: stop.method, endedBy: end.endedBy, siblings: stop.siblings, settled: stop.settled, charged, amidCrash: stop.amidCrash, unmade: end.unmade },
      nowMs,
    ),
  );
  const crashStopsByKey = settleStopEnd(state.crashStopsByKey, stop.key, { charged, orphan: stop.cost === 'free', endedBy: end.endedBy });
  return { ...state, underWay, stoppedAtMs, records, crashStopsByKey };
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
    cost: stop.evidence.cost,
    settled: !stop.evidence.starting,
  };
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
