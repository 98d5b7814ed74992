// The total cap: more instances in all than --max-instances.
import type { Stop } from '../stops.js';
import { longestIdleFirst, makeStop, type RuleContext, type Taken } from './context.js';
import { trimMethod } from './trims.js';

/** Beyond the total cap, the longest idle instances a trim may stop, one per key at a time. */
export function trimToMaxInstances(ctx: RuleContext, taken: Taken): Stop[] {
  const { maxInstances } = ctx.config;
  if (maxInstances === undefined) return [];
  const staying = ctx.instances.filter((instance) => !taken.ids.has(instance.id));
  let excess = staying.length - maxInstances;
  const stops: Stop[] = [];
  const keys = new Set(taken.keys);
  for (const candidate of longestIdleFirst(
    ctx,
    staying.filter((instance) => !instance.orphaned),
  )) {
    if (excess <= 0) break;
    if (keys.has(candidate.key)) continue;
    const method = trimMethod(ctx, candidate, { ids: taken.ids, keys });
    if (method === undefined) continue;
    stops.push(makeStop(ctx, candidate, 'max-instances', method));
    keys.add(candidate.key);
    excess -= 1;
  }
  return stops;
}
