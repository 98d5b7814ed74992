// Duplicates: more instances of one key than --max-per-command.
import type { Stop } from '../stops.js';
import { longestIdleFirst, makeStop, type RuleContext, type Taken } from './context.js';
import { trimMethod } from './trims.js';

/** Beyond the cap, the longest idle instance of a key that a trim may stop; one per key at a time. */
export function trimDuplicates(ctx: RuleContext, taken: Taken): Stop[] {
  const stops: Stop[] = [];
  for (const [key, group] of ctx.byKey) {
    const staying = group.filter((instance) => !taken.ids.has(instance.id));
    if (staying.length <= ctx.config.maxPerCommand || taken.keys.has(key)) continue;
    for (const candidate of longestIdleFirst(
      ctx,
      staying.filter((instance) => !instance.orphaned),
    )) {
      const method = trimMethod(ctx, candidate, taken);
      if (method === undefined) continue;
      stops.push(makeStop(ctx, candidate, 'duplicate', method));
      break;
    }
  }
  return stops;
}
