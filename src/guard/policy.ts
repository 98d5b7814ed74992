import type { CgroupFigures } from '../cgroup/figures.js';
import { type Activity, type InstanceState, type IoBytes, judgeInstance, trackActivity } from './activity.js';
import { type Headroom, type Watermarks, watermarksOf } from './headroom.js';
import type { Instance } from './instances.js';
import { isBackedOff, type KeyStops, type RespawnLoop, recordStops } from './respawn-loops.js';

/** In a respawn loop, one starting tree of the key may go this often, not more. */
const LOOP_SHED_GAP_MS = 1000;

/** The guard's policy settings. */
export type GuardConfig = {
  patterns: readonly RegExp[];
  /** Most idle instances of one key; beyond it the longest idle go. */
  maxPerCommand: number;
  maxInstances?: number;
  orphanGraceMs: number;
  idleAfterMs: number;
  /** An instance younger than this is still starting, and is never stopped as a duplicate or idle. */
  startGraceMs: number;
  /** An instance used within this is busy (at least two scans, so that one quiet scan is not enough). */
  busyWithinMs: number;
  pidsHeadroom: Headroom;
  memoryHeadroom: Headroom;
};

/** Everything the policy looks at, read at one moment. */
export type Snapshot = {
  nowMs: number;
  /** Milliseconds since boot: start ticks in /proc count from boot. */
  uptimeMs: number;
  ticksPerSecond: number;
  pageBytes: number;
  instances: readonly Instance[];
  io: IoBytes;
  cgroup: CgroupFigures;
};

/** What the policy remembers between snapshots. */
export type PolicyHistory = {
  /** When each instance was first seen orphaned. */
  orphanSinceMs: ReadonlyMap<string, number>;
  activity: ReadonlyMap<string, Activity>;
  stopsByKey: ReadonlyMap<string, KeyStops>;
  /** The most tasks and RSS pages one instance of each key has had: what a starting one will grow to. */
  grownByKey: ReadonlyMap<string, Grown>;
};

/** How big an instance of a key gets once started. */
export type Grown = { tasks: number; rssPages: number };

export const EMPTY_POLICY_HISTORY: PolicyHistory = { orphanSinceMs: new Map(), activity: new Map(), stopsByKey: new Map(), grownByKey: new Map() };

export type StopReason = 'orphan' | 'duplicate' | 'max-instances' | 'pids-headroom' | 'memory-headroom';

/** Why this instance and not another: the evidence of one decision. */
export type StopEvidence = InstanceState & {
  /** Instances of the same key in the snapshot, this one included. */
  instancesOfKey: number;
  /** Of the other instances of its key, how many were busy or still starting (spared). */
  busyOfKey: number;
  startingOfKey: number;
  /** Under pressure: how near the limit was (what may go grows with it). */
  pressure?: Pressure;
};

/** One instance to stop, and why. */
export type Stop = { instance: Instance; reason: StopReason; evidence: StopEvidence };

/** Instances being stopped now: not planned again, and their weight is already on its way out. */
export type InFlight = ReadonlyMap<string, { key: string }>;

/** `pressed`: a limit is at its high watermark or beyond: the loop then scans at every poll. */
export type Plan = { stops: Stop[]; states: ReadonlyMap<string, InstanceState>; loops: RespawnLoop[]; pressed: boolean; history: PolicyHistory };

/**
 * Decides which MCP instances to stop, and why. Its first duty is to do no harm to the app:
 * an instance that is starting or busy is never stopped as a duplicate or for being idle,
 * and a key is trimmed only when none of its instances is busy or starting (an app like
 * MetaMCP closes every instance of a server when one of them dies). Orphans go after their
 * grace. Near a limit, instances go until usage would be under the low watermark: orphans,
 * then settled idle ones of keys that nobody is using; once the limit is critical, also
 * busy ones, starting ones last.
 * Pure: the same snapshot, config, history and in-flight stops always give the same plan.
 */
export function planStops(snap: Snapshot, config: GuardConfig, history: PolicyHistory, inFlight: InFlight = new Map()): Plan {
  const { nowMs } = snap;
  const activity = trackActivity(nowMs, snap.instances, snap.io, history.activity);
  const states = new Map<string, InstanceState>();
  const orphanSinceMs = new Map<string, number>();
  for (const instance of snap.instances) {
    const ageMs = snap.uptimeMs - (instance.launcher.startTicks * 1000) / snap.ticksPerSecond;
    states.set(instance.id, judgeInstance(instance, activity.get(instance.id)!, ageMs, nowMs, config));
    if (instance.orphaned) orphanSinceMs.set(instance.id, history.orphanSinceMs.get(instance.id) ?? nowMs);
  }
  const stateOf = (instance: Instance) => states.get(instance.id)!;
  const byKey = groupByKey(snap.instances);
  const keysInFlight = new Set([...inFlight.values()].map((stop) => stop.key));
  // Quiet: no instance of the key is serving anyone, none was started within the busy window
  // (an app starts one when a session asks for that server: that session is in flight), and
  // none is being stopped. An app like MetaMCP closes a server's idle and in-use instances
  // when one of them dies, but not the connections it is still opening: under pressure,
  // older starting siblings do not forbid a stop.
  const isQuiet = (key: string) =>
    !keysInFlight.has(key) && (byKey.get(key) ?? []).every((i) => !stateOf(i).busy && nowMs - activity.get(i.id)!.firstSeenMs >= config.busyWithinMs);
  // Not under pressure the guard can wait for a moment when nothing of the key is starting either.
  const isAtRest = (key: string) => isQuiet(key) && (byKey.get(key) ?? []).every((i) => !stateOf(i).starting);

  const stops: Stop[] = [];
  const planned = new Set(inFlight.keys());
  const staying = () => snap.instances.filter((i) => !planned.has(i.id));
  const stop = (instance: Instance, reason: StopReason, pressure?: Pressure) => {
    planned.add(instance.id);
    keysInFlight.add(instance.key);
    const others = (byKey.get(instance.key) ?? []).filter((i) => i !== instance);
    stops.push({
      instance,
      reason,
      evidence: {
        ...stateOf(instance),
        instancesOfKey: others.length + 1,
        busyOfKey: others.filter((i) => stateOf(i).busy).length,
        startingOfKey: others.filter((i) => stateOf(i).starting).length,
        ...(pressure === undefined ? {} : { pressure }),
      },
    });
  };
  const longestIdleFirst = (instances: readonly Instance[]) =>
    [...instances].sort((a, b) => stateOf(b).idleMs - stateOf(a).idleMs || a.launcher.startTicks - b.launcher.startTicks);
  // Not under pressure: only settled, idle instances of quiet keys, one per key at a time,
  // and never a key whose instances keep coming back after their stops.
  const isShedding = (key: string) => {
    const stops = history.stopsByKey.get(key);
    return isBackedOff(stops, nowMs) && (keysInFlight.has(key) || nowMs - (stops?.atMs.at(-1) ?? -Infinity) < LOOP_SHED_GAP_MS);
  };
  const mayTrim = (instance: Instance) => stateOf(instance).idle && isAtRest(instance.key) && !isBackedOff(history.stopsByKey.get(instance.key), nowMs);

  for (const instance of staying()) {
    if (instance.orphaned && nowMs - orphanSinceMs.get(instance.id)! >= config.orphanGraceMs) stop(instance, 'orphan');
  }
  for (const group of groupByKey(staying()).values()) {
    const excess = group.length - config.maxPerCommand;
    const candidate = longestIdleFirst(group.filter((i) => !i.orphaned)).find(mayTrim);
    if (excess > 0 && candidate) stop(candidate, 'duplicate');
  }
  if (config.maxInstances !== undefined) {
    let excess = staying().length - config.maxInstances;
    for (const candidate of longestIdleFirst(staying().filter((i) => !i.orphaned))) {
      if (excess <= 0) break;
      if (!mayTrim(candidate)) continue;
      stop(candidate, 'max-instances');
      excess -= 1;
    }
  }

  const grownByKey = new Map(history.grownByKey);
  for (const instance of snap.instances) {
    const grown = grownByKey.get(instance.key);
    grownByKey.set(instance.key, { tasks: Math.max(grown?.tasks ?? 0, instance.tasks), rssPages: Math.max(grown?.rssPages ?? 0, instance.rssPages) });
  }
  let pressed = false;
  const pids = snap.cgroup.pids;
  if (pids?.maxTasks !== undefined) {
    relieve(
      'pids-headroom',
      pids.currentTasks,
      watermarksOf(config.pidsHeadroom, pids.maxTasks),
      (i) => i.tasks,
      (key) => grownByKey.get(key)!.tasks,
      false,
    );
  }
  const memory = snap.cgroup.memory;
  if (memory?.limitBytes !== undefined) {
    relieve(
      'memory-headroom',
      memory.workingSetBytes,
      watermarksOf(config.memoryHeadroom, memory.limitBytes),
      (i) => i.rssPages * snap.pageBytes,
      (key) => grownByKey.get(key)!.rssPages * snap.pageBytes,
      true,
    );
  }

  const newKeys = snap.instances.filter((i) => !history.activity.has(i.id)).map((i) => i.key);
  const recorded = recordStops(
    history.stopsByKey,
    stops.filter((s) => s.reason !== 'orphan').map((s) => s.instance.key),
    newKeys,
    byKey,
    nowMs,
  );
  return { stops, states, loops: recorded.loops, pressed, history: { orphanSinceMs, activity, stopsByKey: recorded.stopsByKey, grownByKey } };

  // Stops instances, least harmful first, until usage minus what is being stopped would be
  // under the low watermark, or no candidate may go yet. Usage itself triggers: below the
  // high watermark expectations trigger nothing, or the guard would stop what the app
  // restarts after a stop of the guard's own. Once it does, what the instances still
  // starting will grow to (as big as their key's have been) counts too: in a storm the
  // limit is reached by trees that are already there.
  // `killsAtLimit`: reaching the limit kills a process (memory: the OOM killer takes the
  // biggest, most often the app itself, and every session with it) rather than failing a
  // fork (pids). Then the starting trees are weighed against the critical mark rather than
  // the limit, and those of keys with no busy instance may go, more than one per key: a
  // server can take a hundred megabytes between two scans, more than is left past the
  // critical mark.
  function relieve(
    reason: StopReason,
    usage: number,
    marks: Watermarks,
    weigh: (i: Instance) => number,
    grown: (key: string) => number,
    killsAtLimit: boolean,
  ) {
    if (usage < marks.high) return;
    pressed = true;
    const growing = (i: Instance) => (stateOf(i).starting ? Math.max(0, grown(i.key) - weigh(i)) : 0);
    const expected = usage + sumOf(staying(), growing);
    const pressure: Pressure = usage >= marks.critical ? 'critical' : expected >= (killsAtLimit ? marks.critical : marks.limit) ? 'urgent' : 'high';
    let projected =
      expected -
      sumOf(
        snap.instances.filter((i) => planned.has(i.id)),
        weigh,
      );
    while (projected >= marks.low) {
      // One stop per key at a time: an app like MetaMCP closes the other instances of a
      // server itself when one dies, and each stop is a crash to it. More only when the
      // limit itself would be reached even so.
      const open = projected >= marks.limit ? staying() : staying().filter((i) => i.orphaned || !keysInFlight.has(i.key));
      const candidate = pickSettledForHeadroom(open, stateOf, isQuiet, pressure);
      if (!candidate) break;
      stop(candidate, reason, pressure);
      projected -= weigh(candidate) + growing(candidate);
    }
    // Starting trees go only so that, grown, they stay under the critical mark: each stop
    // of one throws away the work of its start (seconds of CPU for npx), and an app that
    // retries starts it again. The youngest go first: they cost least. Short of the
    // critical mark, only on quiet keys: to MetaMCP the stop of a starting instance is a
    // crash too, and closes the instances its sessions are using.
    // Memory is the exception (killsAtLimit): once urgent, starting trees go while no
    // instance of their key is busy, though sessions keep asking for it, and more than one
    // per key. MetaMCP does not close the connections it is still opening when one of them
    // dies, but a busy instance of the key would lose its request ("Not connected", seen on
    // the real backend): a key with one waits for the critical mark, as for pids.
    // A key the app keeps starting over (a respawn loop) sheds at most one starting tree a
    // second: beyond that the guard would only feed the loop, and the kernel's own limit
    // does the rest.
    const hasBusy = (key: string) => (byKey.get(key) ?? []).some((i) => stateOf(i).busy);
    const mayGoInUse = (key: string) => pressure === 'critical' || (pressure === 'urgent' && killsAtLimit && !hasBusy(key));
    const mayGo = (i: Instance) => stateOf(i).starting && (mayGoInUse(i.key) || isQuiet(i.key)) && !isShedding(i.key);
    while (pressure !== 'high' && projected >= marks.critical) {
      // As above: one per key at a time, unless the limit itself is at stake.
      const open = killsAtLimit || projected >= marks.limit ? staying() : staying().filter((i) => !keysInFlight.has(i.key));
      const candidate = open.filter(mayGo).sort((a, b) => b.launcher.startTicks - a.launcher.startTicks || b.launcher.pid - a.launcher.pid)[0];
      if (!candidate) break;
      stop(candidate, reason, pressure);
      projected -= weigh(candidate) + growing(candidate);
    }
  }
}

/** How near a limit is: high; urgent (the starting trees, grown, will reach it, or for memory its critical mark); critical (the mark is reached). */
export type Pressure = 'high' | 'urgent' | 'critical';

/**
 * The next settled instance to stop under pressure: orphans (oldest first); then settled
 * instances that are not busy, of quiet keys, longest idle first; and only when critical,
 * busy ones too, longest idle first.
 */
export function pickSettledForHeadroom(
  staying: readonly Instance[],
  stateOf: (i: Instance) => InstanceState,
  isQuiet: (key: string) => boolean,
  pressure: Pressure,
): Instance | undefined {
  const oldestFirst = [...staying].sort((a, b) => a.launcher.startTicks - b.launcher.startTicks || a.launcher.pid - b.launcher.pid);
  const orphan = oldestFirst.find((i) => i.orphaned);
  if (orphan) return orphan;
  const settled = oldestFirst.filter((i) => !stateOf(i).starting).sort((a, b) => stateOf(b).idleMs - stateOf(a).idleMs);
  const harmless = settled.find((i) => !stateOf(i).busy && isQuiet(i.key));
  return harmless ?? (pressure === 'critical' ? settled[0] : undefined);
}

function groupByKey(instances: readonly Instance[]): Map<string, Instance[]> {
  const groups = new Map<string, Instance[]>();
  for (const instance of instances) {
    const group = groups.get(instance.key);
    if (group) group.push(instance);
    else groups.set(instance.key, [instance]);
  }
  return groups;
}

function sumOf(instances: readonly Instance[], weigh: (i: Instance) => number): number {
  return instances.reduce((total, instance) => total + weigh(instance), 0);
}
