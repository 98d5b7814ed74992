import type { RuleContext, Taken } from './rules/context.js';
import { trimDuplicates } from './rules/duplicates.js';
import { relieveMemory, relievePids } from './rules/headroom.js';
import { memoryLimitOf, pidsLimitOf } from './rules/limits.js';
import { trimToMaxInstances } from './rules/max-instances.js';
import { stopOrphans } from './rules/orphans.js';
import type { Stop } from './stops.js';

/** One rule: the stops it wants, given what earlier rules took. */
export type Rule = (ctx: RuleContext, taken: Taken) => readonly Stop[];

/**
 * The rules in the order their stops are planned: orphans cost the app nothing; the trims
 * nothing forces come before the limits, so that what they take counts as freed; the limits
 * then take what is still needed.
 */
export const RULES: readonly Rule[] = [stopOrphans, trimDuplicates, trimToMaxInstances, relievePids, relieveMemory];

/**
 * Runs the rules in order, each seeing what the earlier ones took (and what is under way),
 * so that no instance is planned twice and a key stopped by one rule is not trimmed by the
 * next. `pressed`: a limit is at its high mark or beyond, and the loop scans at every poll.
 * Pure: the same context always gives the same plan.
 */
export function planStops(ctx: RuleContext, underWay: Taken): { stops: Stop[]; pressed: boolean } {
  const ids = new Set(underWay.ids);
  const keys = new Set(underWay.keys);
  const stops: Stop[] = [];
  for (const rule of RULES) {
    for (const stop of rule(ctx, { ids, keys })) {
      stops.push(stop);
      ids.add(stop.instance.id);
      if (stop.evidence.cost === 'crash') keys.add(stop.instance.key);
    }
  }
  const atHigh = [pidsLimitOf(ctx), memoryLimitOf(ctx)].some((limit) => limit !== undefined && limit.usage >= limit.marks.high);
  return { stops, pressed: atHigh };
}
