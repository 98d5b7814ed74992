// A limit (pids or memory) as the guard's rules see it: its usage, its marks, what an instance
// weighs against it and will still grow by, and how near the usage is, now and projected. Pure.
import { type Watermarks, watermarksOf } from '../headroom.js';
import type { Instance } from '../instances.js';
import type { Pressure, StopReason } from '../stops.js';
import type { RuleContext, Taken } from './context.js';

/**
 * How far ahead the growth of the last moment is projected: about what a stop of a starting
 * tree takes to free its tasks on a loaded machine, and the next scan to come.
 */
export const PROJECTION_HORIZON_MS = 1000;

/** One limit as a rule sees it. */
export type LimitSpec = {
  reason: StopReason;
  usage: number;
  marks: Watermarks;
  /** An instance's share of the usage now. */
  weigh: (instance: Instance) => number;
  /** What one instance of the key grows to, in the same unit. */
  grown: (key: string) => number;
  /** Usage growth per second in the last moment. */
  growthPerSecond: number;
  /**
   * Reaching the limit kills a process (memory) rather than failing a fork (pids): starting
   * trees are weighed against the critical mark rather than the limit, and those of a key
   * with no busy instance may go once urgent.
   */
  killsAtLimit: boolean;
};

/** The pids limit as the headroom rule sees it, or undefined without one. */
export function pidsLimitOf(ctx: RuleContext): LimitSpec | undefined {
  const pids = ctx.cgroup.pids;
  if (pids?.maxTasks === undefined) return undefined;
  return {
    reason: 'pids-headroom',
    usage: pids.currentTasks,
    marks: watermarksOf(ctx.config.pidsHeadroom, pids.maxTasks),
    weigh: (i) => i.tasks,
    grown: (key) => ctx.grownOf(key).tasks,
    growthPerSecond: ctx.growthPerSecond.tasks,
    killsAtLimit: false,
  };
}

/** The memory limit as the headroom rule sees it, or undefined without one. */
export function memoryLimitOf(ctx: RuleContext): LimitSpec | undefined {
  const memory = ctx.cgroup.memory;
  if (memory?.limitBytes === undefined) return undefined;
  return {
    reason: 'memory-headroom',
    usage: memory.workingSetBytes,
    marks: watermarksOf(ctx.config.memoryHeadroom, memory.limitBytes),
    weigh: (i) => i.rssPages * ctx.pageBytes,
    grown: (key) => ctx.grownOf(key).rssPages * ctx.pageBytes,
    growthPerSecond: ctx.growthPerSecond.bytes,
    killsAtLimit: true,
  };
}

/** What a starting instance will still grow by, as big as its key's trees have been. */
export function growthOf(limit: LimitSpec, instance: Instance): number {
  return Math.max(0, limit.grown(instance.key) - limit.weigh(instance));
}

/** How near the limit is now, and the usage projected once the trees starting now have grown. */
export function judgePressure(
  ctx: RuleContext,
  limit: LimitSpec,
  taken: Taken,
): { pressure: Pressure | undefined; expected: number; growing: (i: Instance) => number } {
  const growing = (i: Instance) => (ctx.stateOf(i).starting ? growthOf(limit, i) : 0);
  if (limit.usage < limit.marks.high) return { pressure: undefined, expected: limit.usage, growing };
  const staying = ctx.instances.filter((i) => !taken.ids.has(i.id));
  // The trees starting now will grow, and the growth of the last moment goes on: trees that
  // are not seen yet (a session's launcher forks before a scan lists it). Both, though they
  // overlap: in the real storm (MetaMCP 250240be, pids.max 150) the larger of the two alone let
  // the cgroup reach 150 (1 sample in 6704, 2 spawns refused); both kept it at 145.
  const inflow = (Math.max(0, limit.growthPerSecond) * PROJECTION_HORIZON_MS) / 1000;
  // What the app is about to close itself: the settled instances of a key it was seen to
  // close after a crash, a crash of which the guard has just made.
  const closing = staying.filter((i) => !ctx.stateOf(i).starting && ctx.recordOf(i.key)?.crashFreesKey === true && ctx.awaitsAnswer(i.key));
  const expected = limit.usage + sumOf(staying, growing) + inflow - sumOf(closing, limit.weigh);
  const danger = limit.killsAtLimit ? limit.marks.critical : limit.marks.limit;
  const pressure: Pressure = limit.usage >= limit.marks.critical ? 'critical' : expected >= danger ? 'urgent' : 'high';
  return { pressure, expected, growing };
}

/** What the instances weigh against the limit, together. */
export function sumOf(instances: readonly Instance[], weigh: (i: Instance) => number): number {
  return instances.reduce((total, instance) => total + weigh(instance), 0);
}
