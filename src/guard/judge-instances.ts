// How each instance found stands at this scan: how active it is, how it is judged, since when
// it is orphaned, and how big its key's instances grow. Pure.
import { type Activity, type InstanceState, type JudgeSettings, judgeInstance, trackActivity } from './activity.js';
import type { Instance } from './instances.js';

/** How big an instance of a key gets once started. */
export type Grown = { tasks: number; rssPages: number };

/** What the last scan knew of the instances (the parts of GuardState this reads). */
export type JudgedBefore = {
  activity: ReadonlyMap<string, Activity>;
  orphanSinceMs: ReadonlyMap<string, number>;
  grownByKey: ReadonlyMap<string, Grown>;
};

export type JudgeReadings = {
  nowMs: number;
  uptimeMs: number;
  ticksPerSecond: number;
  readIo: (pid: number) => number | undefined;
};

export type Judged = {
  activity: Map<string, Activity>;
  states: Map<string, InstanceState>;
  orphanSinceMs: Map<string, number>;
  grownByKey: Map<string, Grown>;
};

export function judgeInstances(instances: readonly Instance[], readings: JudgeReadings, before: JudgedBefore, settings: JudgeSettings): Judged {
  const { nowMs } = readings;
  const activity = trackActivity(nowMs, instances, memberIo(instances, readings.readIo), before.activity);
  const states = new Map<string, InstanceState>();
  const orphanSinceMs = new Map<string, number>();
  const grownByKey = new Map(before.grownByKey);
  for (const instance of instances) {
    const ageMs = readings.uptimeMs - (instance.launcher.startTicks * 1000) / readings.ticksPerSecond;
    states.set(instance.id, judgeInstance(instance, activity.get(instance.id)!, ageMs, nowMs, settings));
    if (instance.orphaned) orphanSinceMs.set(instance.id, before.orphanSinceMs.get(instance.id) ?? nowMs);
    const grown = grownByKey.get(instance.key);
    grownByKey.set(instance.key, { tasks: Math.max(grown?.tasks ?? 0, instance.tasks), rssPages: Math.max(grown?.rssPages ?? 0, instance.rssPages) });
  }
  return { activity, states, orphanSinceMs, grownByKey };
}

/** The I/O bytes of every member, read for instance members alone. */
function memberIo(instances: readonly Instance[], readIo: (pid: number) => number | undefined): Map<number, number> {
  const io = new Map<number, number>();
  for (const instance of instances) {
    for (const member of instance.members) {
      const bytes = readIo(member.pid);
      if (bytes !== undefined) io.set(member.pid, bytes);
    }
  }
  return io;
}
