// What the limits force: the stops a limit in danger made the app pay for, what the app
// closed in their aftermath, and the demand of each limit judged from them (demand.ts). Pure.
import { type DemandEstimate, type DemandState, type ForcedStop, judgeDemand, type LimitKind, recordForced } from './demand.js';
import type { Lesson } from './key-learning.js';
import type { RuleContext } from './rules/context.js';
import type { Holds } from './rules/hold-starting.js';
import { growthOf, type LimitSpec, memoryLimitOf, pidsLimitOf } from './rules/limits.js';
import type { Stop } from './stops.js';

export type ForcedByLimit = { pids: ForcedStop[]; memory: ForcedStop[] };

/** The demand of both limits after one scan. */
export type LimitDemands = {
  state: { pids: DemandState; memory: DemandState };
  /** The demand of each limit while an episode is under way. */
  demand: { pids?: DemandEstimate; memory?: DemandEstimate };
  /** A demand that exceeds a limit, said once per episode. */
  notices: DemandEstimate[];
};

/** A stop nothing forced: a trim, or one at the high mark (what it costs the app is nothing, or what it tolerates). */
export function isOptional(stop: Stop): boolean {
  return stop.evidence.pressure === undefined || stop.evidence.pressure === 'high';
}

/** A stop the app pays for, made because a limit was in danger. */
export function forcedLimitOf(stop: Stop): LimitKind | undefined {
  if (stop.evidence.cost === 'free' || stop.evidence.pressure === undefined || stop.evidence.pressure === 'high') return undefined;
  return stop.reason === 'pids-headroom' ? 'pids' : stop.reason === 'memory-headroom' ? 'memory' : undefined;
}

/** The keys whose stop a limit forced, with that limit. */
export function forcedOf(stops: readonly Stop[]): Map<string, LimitKind> {
  const forced = new Map<string, LimitKind>();
  for (const stop of stops) {
    const limit = forcedLimitOf(stop);
    if (limit) forced.set(stop.instance.key, limit);
  }
  return forced;
}

/** What the app closed in the aftermath of a forced stop counts as forced too; each aftermath is heard once. */
export function closedAfterForced(
  aftermathsBefore: ReadonlyMap<string, LimitKind>,
  lessons: readonly Lesson[],
  nowMs: number,
): { forcedAftermaths: Map<string, LimitKind>; closedForced: ForcedByLimit } {
  const forcedAftermaths = new Map(aftermathsBefore);
  const closedForced: ForcedByLimit = { pids: [], memory: [] };
  for (const lesson of lessons) {
    const limit = forcedAftermaths.get(lesson.key);
    forcedAftermaths.delete(lesson.key);
    if (limit === undefined || lesson.closed.length === 0) continue;
    const amount = lesson.closed.reduce((total, sibling) => total + (limit === 'pids' ? sibling.tasks : sibling.rssBytes), 0);
    closedForced[limit].push({ atMs: nowMs, key: lesson.key, instances: lesson.closed.length, amount });
  }
  return { forcedAftermaths, closedForced };
}

/** Records what each limit forced this scan (nothing in a dry run) and judges its demand. */
export function judgeLimits(
  before: LimitDemands['state'],
  ctx: RuleContext,
  stops: readonly Stop[],
  closedForced: ForcedByLimit,
  holds: Holds,
  dryRun: boolean,
): LimitDemands {
  const { nowMs } = ctx;
  const result: LimitDemands = { state: { ...before }, demand: {}, notices: [] };
  for (const limit of ['pids', 'memory'] as const) {
    const spec = limit === 'pids' ? pidsLimitOf(ctx) : memoryLimitOf(ctx);
    const forced = [...forcedStopsOf(stops, limit, ctx.pageBytes, nowMs), ...closedForced[limit]];
    const pastCritical = spec !== undefined && spec.usage >= spec.marks.critical;
    if (forced.length === 0 && pastCritical) forced.push({ atMs: nowMs, key: '', instances: 0, amount: 0, heldBack: true });
    const figures = spec && demandFigures(ctx, limit, spec, holds);
    let next = recordForced(before[limit], dryRun ? [] : forced, nowMs);
    if (figures) {
      const judged = judgeDemand(next, figures, nowMs);
      next = judged.state;
      if (judged.exceeded) result.demand[limit] = judged.exceeded;
      if (judged.newEpisode && judged.exceeded) result.notices.push(judged.exceeded);
    }
    result.state[limit] = next;
  }
  return result;
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

/** The figures of a limit's demand, in the limit's unit. */
function demandFigures(ctx: RuleContext, limit: LimitKind, spec: LimitSpec, holds: Holds) {
  const keys = [...ctx.byKey.keys()];
  // A held start is at its first task or two: what it would grow to is demand as much as usage.
  const waiting = ctx.instances.filter((i) => holds.heldSinceMs.has(i.id)).reduce((total, i) => total + growthOf(spec, i), 0);
  const perTree = keys.length === 0 ? 0 : keys.reduce((total, key) => total + spec.grown(key), 0) / keys.length;
  return {
    limit,
    limitAmount: spec.marks.limit,
    usage: spec.usage,
    headroom: limit === 'pids' ? ctx.config.pidsHeadroom : ctx.config.memoryHeadroom,
    keys: keys.length,
    instances: ctx.instances.length,
    perTree: Math.round(perTree),
    waiting,
  };
}
