// What an optional trim may stop: nothing forces it, so it may cost the app nothing.
import type { Instance } from '../instances.js';
import type { StopMethod } from '../stops.js';
import { costOf, isAtRest, isAwaited, mayLeaveDeadClient, methodOf, type RuleContext, type Taken } from './context.js';

/**
 * Whether a trim (duplicate, max-instances) may stop this instance, and how: only an idle,
 * settled instance of a key at rest (nothing of it busy, just started, starting or being
 * stopped), not waited for by a session, of a key that is not in a respawn loop; and only
 * if the stop costs the app nothing (its launcher takes an exit request, or its key's servers
 * end cleanly on SIGINT), unless the
 * operator said the app tolerates crashes. Undefined when it may not go.
 */
export function trimMethod(ctx: RuleContext, instance: Instance, taken: Taken): StopMethod | undefined {
  if (instance.orphaned || taken.ids.has(instance.id) || !ctx.stateOf(instance).idle) return undefined;
  if (!isAtRest(ctx, instance.key, taken) || ctx.isBackedOff(instance.key) || isAwaited(ctx, instance)) return undefined;
  if (costOf(ctx, instance) === 'crash' && (!ctx.config.appToleratesCrashes || ctx.crashesLeft(instance.key) < 1)) return undefined;
  // An exit 0 of an instance the pool hands on leaves it a dead client.
  if (mayLeaveDeadClient(ctx, instance)) return undefined;
  return methodOf(ctx, instance);
}
