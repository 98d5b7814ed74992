import type { CgroupFigures } from '../cgroup/figures.js';
import type { ProcInfo } from '../proc/snapshot.js';
import { watermarksOf, type Headroom } from './headroom.js';
import { findInstances, type Instance, type KnownLauncher } from './instances.js';

/** The guard's settings. */
export type GuardConfig = {
  patterns: readonly RegExp[];
  maxPerCommand: number;
  maxInstances?: number;
  orphanGraceMs: number;
  idleAfterMs: number;
  pidsHeadroom: Headroom;
  memoryHeadroom: Headroom;
  /** Under headroom pressure, stop the oldest instances of any key once no duplicate is left. */
  headroomAny: boolean;
};

/** Everything the policy looks at, read at one moment. */
export type Snapshot = {
  nowMs: number;
  initPid: number;
  mainPid?: number;
  procs: ReadonlyMap<number, ProcInfo>;
  cgroup: CgroupFigures;
  pageBytes: number;
};

/** What the guard remembers between snapshots. */
export type GuardHistory = {
  known: ReadonlyMap<string, KnownLauncher>;
  /** When each instance was first seen orphaned. */
  orphanSinceMs: ReadonlyMap<string, number>;
  /** The CPU ticks each instance had, and when they last changed. */
  cpu: ReadonlyMap<string, { cpuTicks: number; changedAtMs: number }>;
};

export type StopReason = 'orphan' | 'duplicate' | 'max-instances' | 'pids-headroom' | 'memory-headroom';

/** One instance to stop, and why. */
export type Stop = { instance: Instance; reason: StopReason; idle: boolean };

export type Plan = { stops: Stop[]; instances: Instance[]; history: GuardHistory };

/** A history with nothing in it, for the first snapshot. */
export const EMPTY_HISTORY: GuardHistory = { known: new Map(), orphanSinceMs: new Map(), cpu: new Map() };

/**
 * Decides which MCP instances to stop, and why: orphans past their grace, duplicates over
 * the per-command cap (oldest first), instances over the total cap, then whatever brings
 * pids or memory back under the low watermark when usage nears a limit. Pure: the same
 * snapshot, config and history always give the same plan. `stopping` holds instances
 * whose stop is under way: they are neither planned again nor counted as staying.
 */
export function planStops(snap: Snapshot, config: GuardConfig, history: GuardHistory, stopping: ReadonlySet<string> = new Set()): Plan {
  const { instances, known } = findInstances({
    procs: snap.procs, initPid: snap.initPid, mainPid: snap.mainPid, patterns: config.patterns, known: history.known,
  });
  const next = nextHistory(snap.nowMs, instances, known, history);
  const isIdle = (instance: Instance) => snap.nowMs - next.cpu.get(instance.id)!.changedAtMs >= config.idleAfterMs;
  const stops: Stop[] = [];
  const planned = new Set(stopping);
  const stop = (instance: Instance, reason: StopReason) => {
    planned.add(instance.id);
    stops.push({ instance, reason, idle: isIdle(instance) });
  };
  const staying = () => byAge(instances.filter((instance) => !planned.has(instance.id)));

  for (const instance of staying()) {
    const since = next.orphanSinceMs.get(instance.id);
    if (since !== undefined && snap.nowMs - since >= config.orphanGraceMs) stop(instance, 'orphan');
  }
  for (const group of groupByKey(staying()).values()) {
    for (const instance of group.slice(0, Math.max(0, group.length - config.maxPerCommand))) stop(instance, 'duplicate');
  }
  if (config.maxInstances !== undefined) {
    const left = staying();
    for (const instance of left.slice(0, Math.max(0, left.length - config.maxInstances))) stop(instance, 'max-instances');
  }

  const pids = snap.cgroup.pids;
  if (pids?.maxTasks !== undefined) {
    relieve('pids-headroom', pids.currentTasks, watermarksOf(config.pidsHeadroom, pids.maxTasks), (i) => i.tasks);
  }
  const memory = snap.cgroup.memory;
  if (memory?.limitBytes !== undefined) {
    relieve('memory-headroom', memory.workingSetBytes, watermarksOf(config.memoryHeadroom, memory.limitBytes),
      (i) => i.rssPages * snap.pageBytes);
  }
  return { stops, instances, history: next };

  // Stops instances, best candidate first, until usage minus what is being stopped is
  // under the low watermark, or no candidate is left.
  function relieve(reason: StopReason, usage: number, marks: { high: number; low: number }, weigh: (i: Instance) => number) {
    if (usage < marks.high) return;
    let projected = usage - sumOf(instances.filter((i) => planned.has(i.id)), weigh);
    while (projected >= marks.low) {
      const candidate = pickForHeadroom(staying(), isIdle, config.headroomAny);
      if (!candidate) return;
      stop(candidate, reason);
      projected -= weigh(candidate);
    }
  }
}

/**
 * The next instance to stop under pressure: orphans, then idle duplicates, then the oldest
 * duplicates, then (only with headroomAny) the oldest instance of any key. A duplicate is
 * any instance of a key but its newest, so one instance per key is kept.
 */
export function pickForHeadroom(staying: readonly Instance[], isIdle: (i: Instance) => boolean, headroomAny: boolean): Instance | undefined {
  const oldestFirst = byAge(staying);
  const orphan = oldestFirst.find((i) => i.orphaned);
  if (orphan) return orphan;
  const newestOfKey = new Map<string, Instance>();
  for (const instance of oldestFirst) newestOfKey.set(instance.key, instance);
  const duplicates = oldestFirst.filter((i) => newestOfKey.get(i.key) !== i);
  return duplicates.find(isIdle) ?? duplicates[0] ?? (headroomAny ? oldestFirst[0] : undefined);
}

function nextHistory(nowMs: number, instances: readonly Instance[], known: ReadonlyMap<string, KnownLauncher>, history: GuardHistory): GuardHistory {
  const orphanSinceMs = new Map<string, number>();
  const cpu = new Map<string, { cpuTicks: number; changedAtMs: number }>();
  for (const instance of instances) {
    if (instance.orphaned) orphanSinceMs.set(instance.id, history.orphanSinceMs.get(instance.id) ?? nowMs);
    const before = history.cpu.get(instance.id);
    cpu.set(instance.id, before && before.cpuTicks === instance.cpuTicks ? before : { cpuTicks: instance.cpuTicks, changedAtMs: nowMs });
  }
  return { known, orphanSinceMs, cpu };
}

/** Oldest launcher first; start ticks come from /proc/PID/stat, not from `ps` text. */
function byAge(instances: readonly Instance[]): Instance[] {
  return [...instances].sort((a, b) => a.launcher.startTicks - b.launcher.startTicks || a.launcher.pid - b.launcher.pid);
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
