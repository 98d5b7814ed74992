// Orphans: an instance whose launcher died or lost its parent in the app. Nothing can talk
// to it any more, and the app does not see it go.
import type { Stop } from '../stops.js';
import { makeStop, type RuleContext, type Taken } from './context.js';

/** Stops every orphan that has been one for the orphan grace, busy or not. */
export function stopOrphans(ctx: RuleContext, taken: Taken): Stop[] {
  return ctx.instances
    .filter((instance) => instance.orphaned && !taken.ids.has(instance.id) && ctx.orphanedForMs(instance) >= ctx.config.orphanGraceMs)
    .map((instance) => makeStop(ctx, instance, 'orphan', 'terminate'));
}
