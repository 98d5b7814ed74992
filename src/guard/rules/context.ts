// What every rule looks at: one scan's instances, how each is judged, and what the guard
// knows of their keys. Built once per scan, read-only for the rules. Pure.
import type { CgroupFigures } from '../../cgroup/figures.js';
import type { Activity, InstanceState } from '../activity.js';
import type { Headroom } from '../headroom.js';
import type { Instance } from '../instances.js';
import { awaitsAnswer, costOfStop, isInAftermath, type KeyRecord, methodFor } from '../key-learning.js';
import { isBackedOff, type KeyStarts } from '../respawns.js';
import type { Stop, StopCost, StopEvidence, StopMethod, StopReason } from '../stops.js';

/** The guard's policy settings. */
export type GuardConfig = {
  patterns: readonly RegExp[];
  /** Most idle instances of one key; beyond it the longest idle go. */
  maxPerCommand: number;
  maxInstances?: number | undefined;
  orphanGraceMs: number;
  idleAfterMs: number;
  /** An instance younger than this is starting unless it shows it has started (activity.ts). */
  startGraceMs: number;
  /** An instance used within this is busy (at least two scans, so that one quiet scan is not enough). */
  busyWithinMs: number;
  pidsHeadroom: Headroom;
  memoryHeadroom: Headroom;
  /**
   * The operator says the app tolerates crashes (--app-tolerates-crashes): the optional trims
   * and the stops at the high mark may then cost the app a crash, as they may cost nothing.
   */
  appToleratesCrashes: boolean;
  /** Under a limit's high mark, most of the app's trees that start at once; the youngest beyond are held (rules/hold-starting.ts). 0: none held. */
  maxStarting: number;
  /** A settled instance may be stopped by closing its stdin (proc/close-stdin.ts); off with --signals-only. */
  stdinCloses: boolean;
};

/** Instances started within this of each other belong to one session asking for several servers. */
export const COHORT_MS = 1000;

/** What is planned so far in this scan, and what is under way: rules add to it in order. */
export type Taken = { ids: ReadonlySet<string>; keys: ReadonlySet<string> };

/** One scan as the rules see it. */
export type RuleContext = {
  nowMs: number;
  config: GuardConfig;
  cgroup: CgroupFigures;
  pageBytes: number;
  /** The instances the guard may stop (those the kernel refused are left out). */
  instances: readonly Instance[];
  byKey: ReadonlyMap<string, readonly Instance[]>;
  /** The key's settled instances the app holds, oldest first (worked out once per scan and key). */
  settledOf: (key: string) => readonly Instance[];
  stateOf: (instance: Instance) => InstanceState;
  activityOf: (instance: Instance) => Activity;
  orphanedForMs: (instance: Instance) => number;
  /** What one instance of the key grows to: tasks and RSS pages. */
  grownOf: (key: string) => { tasks: number; rssPages: number };
  recordOf: (key: string) => KeyRecord | undefined;
  isBackedOff: (key: string) => boolean;
  /** A stop of the key is under way, or its aftermath is being watched. */
  isKeyStopping: (key: string) => boolean;
  /** A stop of the key that may be a crash is under way, or the app's answer to the last one may still come. */
  awaitsAnswer: (key: string) => boolean;
  /** Growth of usage over the last moment, per second, as the polls saw it. */
  growthPerSecond: { tasks: number; bytes: number };
  /** How many more stops of the key the app may count as a crash (the crash budget left). */
  crashesLeft: (key: string) => number;
  /** The instance's stdin can be closed (proc/close-stdin.ts): a socket the app does not share, the kernel allows it, and the operator does. */
  stdinClosable: (instance: Instance) => boolean;
};

export type RuleContextInput = Omit<
  RuleContext,
  | 'byKey'
  | 'settledOf'
  | 'stateOf'
  | 'activityOf'
  | 'orphanedForMs'
  | 'grownOf'
  | 'recordOf'
  | 'isBackedOff'
  | 'isKeyStopping'
  | 'awaitsAnswer'
  | 'stdinClosable'
> & {
  /** Whether a launcher's stdin can be closed, read on demand (the scan's readings); false when the operator forbids it. */
  launcherStdinClosable: (launcher: Instance['launcher']) => boolean;
  states: ReadonlyMap<string, InstanceState>;
  activity: ReadonlyMap<string, Activity>;
  orphanSinceMs: ReadonlyMap<string, number>;
  grownByKey: ReadonlyMap<string, { tasks: number; rssPages: number }>;
  records: ReadonlyMap<string, KeyRecord>;
  starts: ReadonlyMap<string, KeyStarts>;
  /** Keys with a stop under way. */
  keysInFlight: ReadonlySet<string>;
};

/** The context of one scan. */
export function makeRuleContext(input: RuleContextInput): RuleContext {
  const byKey = new Map<string, Instance[]>();
  for (const instance of input.instances) {
    const group = byKey.get(instance.key);
    if (group) group.push(instance);
    else byKey.set(instance.key, [instance]);
  }
  const stateOf = (instance: Instance) => input.states.get(instance.id)!;
  const settled = new Map<string, Instance[]>();
  const settledOf = (key: string): Instance[] => {
    let list = settled.get(key);
    if (!list) {
      list = (byKey.get(key) ?? [])
        .filter((i) => !stateOf(i).starting && !i.orphaned)
        .sort((a, b) => a.launcher.startTicks - b.launcher.startTicks || a.launcher.pid - b.launcher.pid);
      settled.set(key, list);
    }
    return list;
  };
  return {
    nowMs: input.nowMs,
    config: input.config,
    cgroup: input.cgroup,
    pageBytes: input.pageBytes,
    instances: input.instances,
    growthPerSecond: input.growthPerSecond,
    crashesLeft: input.crashesLeft,
    byKey,
    settledOf,
    stateOf,
    activityOf: (instance) => input.activity.get(instance.id)!,
    orphanedForMs: (instance) => input.nowMs - (input.orphanSinceMs.get(instance.id) ?? input.nowMs),
    grownOf: (key) => input.grownByKey.get(key) ?? { tasks: 0, rssPages: 0 },
    recordOf: (key) => input.records.get(key),
    isBackedOff: (key) => isBackedOff(input.starts.get(key), input.nowMs),
    isKeyStopping: (key) => input.keysInFlight.has(key) || isInAftermath(input.records.get(key)),
    awaitsAnswer: (key) => input.keysInFlight.has(key) || awaitsAnswer(input.records.get(key), input.nowMs),
    stdinClosable: (instance) => instance.launcherAlive && !instance.orphaned && input.launcherStdinClosable(instance.launcher),
  };
}

/**
 * Quiet: no instance of the key is serving anyone, none was started within the busy window
 * (an app starts one when a session asks for that server: that session is in flight), and
 * none is being stopped. An app like MetaMCP closes a server's idle and in-use instances
 * when one of them crashes, but not the connections it is still opening: older starting
 * siblings do not make a key busy.
 */
export function isQuiet(ctx: RuleContext, key: string, taken: Taken): boolean {
  if (taken.keys.has(key) || ctx.isKeyStopping(key) || hasFreshStart(ctx, key)) return false;
  return (ctx.byKey.get(key) ?? []).every((i) => !ctx.stateOf(i).busy);
}

/**
 * An instance of the key started within the busy window: a session asked for the server just
 * now, and the instance it took (an app's idle spare) may not show its use yet.
 */
export function hasFreshStart(ctx: RuleContext, key: string): boolean {
  return (ctx.byKey.get(key) ?? []).some((i) => ctx.nowMs - ctx.activityOf(i).firstSeenMs < ctx.config.busyWithinMs);
}

/**
 * The instance a session may just have taken: when a session asks for a server, an app like
 * MetaMCP hands it the idle spare (its youngest settled instance) and starts a replacement.
 * While that replacement is fresh, the spare's use may not show yet.
 */
export function mayJustBeTaken(ctx: RuleContext, instance: Instance): boolean {
  return hasFreshStart(ctx, instance.key) && ctx.settledOf(instance.key).at(-1) === instance;
}

/** Quiet, and nothing of the key is starting either: the moment for a trim nothing forces. */
export function isAtRest(ctx: RuleContext, key: string, taken: Taken): boolean {
  return isQuiet(ctx, key, taken) && (ctx.byKey.get(key) ?? []).every((i) => !ctx.stateOf(i).starting);
}

/**
 * A session asking for several servers starts one of each at once (MetaMCP lists every
 * server's tools before the session's first call): while one of them still starts, the
 * others are waited for, however quiet they are.
 */
export function isAwaited(ctx: RuleContext, instance: Instance): boolean {
  const seenMs = ctx.activityOf(instance).firstSeenMs;
  return ctx.instances.some(
    (other) => other.key !== instance.key && ctx.stateOf(other).starting && Math.abs(ctx.activityOf(other).firstSeenMs - seenMs) <= COHORT_MS,
  );
}

/**
 * The instances an app like MetaMCP hands on to the next session: its idle spare (the key's
 * youngest settled instance) and, once the server is at the newer pool's per-server cap, the
 * oldest session's instance (the key's oldest settled one), which every new session then
 * shares. A clean stop leaves the pool a dead client in that place: an exit 0 is not a crash,
 * so nothing clears it, and each session handed it fails ("Not connected"). Seen on the real
 * pool: three SIGINTs to the oldest instances of server-everything, and every session after
 * them lost that server.
 */
export function isHandedOn(ctx: RuleContext, instance: Instance): boolean {
  const settled = ctx.settledOf(instance.key);
  return settled[0] === instance || settled.at(-1) === instance;
}

/**
 * How a settled instance is stopped: by closing its stdin where that can be done, else by
 * SIGINT unless its key is known not to end cleanly on it (key-learning.ts methodFor).
 */
export function methodOf(ctx: RuleContext, instance: Instance): StopMethod {
  return methodFor(ctx.recordOf(instance.key), ctx.stdinClosable(instance));
}

/**
 * A stop by stdin close or SIGINT (of a key known to end cleanly on it, or not yet known) may
 * end in an exit 0, and an instance the pool hands on would then stay in it as a dead client.
 * A TERM, or a SIGINT the app counts as a crash, makes the app close the key's instances itself.
 */
export function mayLeaveDeadClient(ctx: RuleContext, instance: Instance): boolean {
  return methodOf(ctx, instance) !== 'terminate' && isHandedOn(ctx, instance);
}

/**
 * What stopping this instance costs the app. A tree still starting is stopped by TERM (it may
 * have no server yet to read its stdin or answer SIGINT): a crash, whatever its key does once started.
 */
export function costOf(ctx: RuleContext, instance: Instance): StopCost {
  if (instance.orphaned) return 'free';
  return ctx.stateOf(instance).starting ? 'crash' : costOfStop(ctx.recordOf(instance.key), ctx.stdinClosable(instance));
}

/** Settled and not in use now: the first that may go. */
export function isSettledAndUnused(ctx: RuleContext, instance: Instance): boolean {
  const state = ctx.stateOf(instance);
  return !state.starting && !state.busy;
}

/** Longest idle first, the oldest first among equals. */
export function longestIdleFirst(ctx: RuleContext, instances: readonly Instance[]): Instance[] {
  return [...instances].sort((a, b) => ctx.stateOf(b).idleMs - ctx.stateOf(a).idleMs || a.launcher.startTicks - b.launcher.startTicks);
}

/** The stop of one instance, with its evidence. */
export function makeStop(
  ctx: RuleContext,
  instance: Instance,
  reason: StopReason,
  method: StopMethod,
  extra: Partial<Pick<StopEvidence, 'pressure' | 'projected' | 'awaited' | 'cost'>> = {},
): Stop {
  const others = (ctx.byKey.get(instance.key) ?? []).filter((i) => i !== instance);
  const evidence: StopEvidence = {
    ...ctx.stateOf(instance),
    instancesOfKey: others.length + 1,
    busyOfKey: others.filter((i) => ctx.stateOf(i).busy).length,
    startingOfKey: others.filter((i) => ctx.stateOf(i).starting).length,
    cost: costOf(ctx, instance),
    ...extra,
  };
  // A TERM after an interrupt meant to cost nothing is a crash the key's budget must have.
  const terminateIfIgnored = evidence.cost !== 'clean' || ctx.crashesLeft(instance.key) >= 1;
  return { instance, reason, method, terminateIfIgnored, evidence };
}
