import type { Instance } from './instances.js';

/** Bytes an instance's processes have read and written (/proc/PID/io rchar + wchar), by pid. */
export type IoBytes = ReadonlyMap<number, number>;

/** What the guard remembers of one instance between scans, to tell use from idleness. */
export type Activity = {
  /** CPU ticks plus I/O bytes of the server's side of the tree: it moves while the server works. */
  usage: number;
  /** When the guard first saw the instance: a new one means someone just asked for that server. */
  firstSeenMs: number;
  /** When usage last moved (or when the instance was first seen). */
  activeAtMs: number;
  /** Members and tasks: a tree that still grows is still starting. */
  shape: string;
  shapeChangedAtMs: number;
};

/** How the guard judges one instance now. */
export type InstanceState = {
  ageMs: number;
  idleMs: number;
  /** Not seen to have started yet: see judgeInstance. */
  starting: boolean;
  /** Settled and used within the busy window: someone is talking to it. */
  busy: boolean;
  /** Used by nobody for the idle-after time. */
  idle: boolean;
};

/** How a tree's shape must stay the same before it counts as settled. */
export const SETTLE_MS = 2000;

/** The next activity record of each instance, from its figures now and its record before. */
export function trackActivity(nowMs: number, instances: readonly Instance[], io: IoBytes, before: ReadonlyMap<string, Activity>): Map<string, Activity> {
  const next = new Map<string, Activity>();
  for (const instance of instances) {
    // The launcher is plumbing: npm exec never reads the server's stdin, and it has one
    // burst of its own (~0.1 s of CPU) 15-25 s after it starts. Use is what the rest does.
    const server = instance.launcherAlive && instance.members.length > 1 ? instance.members.slice(1) : instance.members;
    let usage = 0;
    for (const member of server) usage += member.cpuTicks + (io.get(member.pid) ?? 0);
    const shape = `${instance.members.length}/${instance.tasks}`;
    const last = before.get(instance.id);
    next.set(instance.id, {
      usage,
      firstSeenMs: last?.firstSeenMs ?? nowMs,
      activeAtMs: last && last.usage === usage ? last.activeAtMs : nowMs,
      shape,
      shapeChangedAtMs: last && last.shape === shape ? last.shapeChangedAtMs : nowMs,
    });
  }
  return next;
}

export type JudgeSettings = { startGraceMs: number; idleAfterMs: number; busyWithinMs: number };

/**
 * Judges an instance from its activity record, its launcher's age and its tree.
 * Starting, from what is seen: a live `npm exec` with no child has not started its server
 * yet (npm can take 15-20 s to get there on a loaded machine), however old it is; a tree
 * that changed shape (processes, tasks) within SETTLE_MS is still growing. A tree younger
 * than the start grace is starting unless it shows it has started: its shape and its use
 * both still for SETTLE_MS, and every member asleep (waiting on its stdin, not runnable or
 * in disk I/O as a process still loading is). A server that has started answered its
 * first request at once and was used by the session that asked for it, so a still tree is
 * one that is waiting. The start grace is the bound for what shows nothing.
 */
export function judgeInstance(instance: Instance, activity: Activity, ageMs: number, nowMs: number, settings: JudgeSettings): InstanceState {
  const idleMs = nowMs - activity.activeAtMs;
  const serverless = instance.launcherAlive && instance.members.length === 1 && instance.key.startsWith('npm exec ');
  // A tree the guard holds (SIGSTOP, rules/hold-starting.ts) is still, and has shown nothing.
  const held = instance.members.some((member) => member.state === 'T');
  const stillMs = nowMs - activity.shapeChangedAtMs;
  const seenStarted = stillMs >= SETTLE_MS && idleMs >= SETTLE_MS && instance.members.every((member) => member.state === 'S');
  const starting = serverless || held || stillMs < SETTLE_MS || (ageMs < settings.startGraceMs && !seenStarted);
  return { ageMs, idleMs, starting, busy: !starting && idleMs < settings.busyWithinMs, idle: !starting && idleMs >= settings.idleAfterMs };
}
