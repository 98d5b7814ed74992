// Headroom: keeping a limit (pids or memory) from being reached, by stops that cost the app
// as little as the pressure allows. At the limit the kernel chooses for the guard: the next
// fork fails and a launcher aborts (a crash to the app too), or the OOM killer takes the
// biggest process, most often the app itself. The guard's choice is always better.
import type { Stop } from '../stops.js';
import type { RuleContext, Taken } from './context.js';
import { judgePressure, type LimitSpec, memoryLimitOf, pidsLimitOf } from './limits.js';
import { Relief } from './relief.js';

/**
 * Stops instances until usage, less what is being stopped, would be under the low mark, or
 * no candidate may go at this pressure. In the order of what a stop costs the app:
 * 1. orphans (nothing holds them), oldest first;
 * 2. settled instances not in use whose stop is an exit 0, which the app does not count as a
 *    crash (a launcher that takes an exit request, or a key whose servers end cleanly on
 *    SIGINT), not waited for by a session, and not the
 *    key's instances the pool hands on (its idle spare and the one shared at its cap: the
 *    pool would keep a dead client there for the next session). At the high mark nothing else: the limit is not in danger yet, and a crash there
 *    may be one the app never needed, unless the operator said it tolerates them;
 * 3. once urgent: settled instances not in use of quiet keys, not waited for, longest idle
 *    first, SIGINT first (what the app does next teaches the guard what SIGINT is to it);
 *    in this tier and the next, by SIGINT never one the pool hands on (an exit 0 would
 *    leave it a dead client), which short of critical only a TERM may stop;
 * 4. once urgent: settled instances not in use of keys with no busy instance (a crash closes
 *    the key's busy instances too, and their requests fail), but not one a session may just
 *    have taken;
 * 5. once critical: any settled instance, busy ones too, longest idle first; one the pool hands
 *    on last, and by TERM where the budget has a crash: by an exit 0 it stays in the pool a
 *    dead client. With no crash to spend it goes by an exit 0 all the same: the limit comes
 *    first (on the real pool at pids.max 300, sparing them left the cgroup at its limit, a
 *    launcher aborted, and served no more: 12 of 30 either way);
 * 6. starting trees, by TERM, youngest first: once critical, while, grown, they would pass
 *    the critical mark; once urgent, while they would reach the limit itself (for memory,
 *    the critical mark, on keys with no busy instance). Each throws away its start (seconds
 *    of CPU for npx), and an app like MetaMCP retries it in 5 s; the kernel would fail a
 *    fork of one of them at the limit anyway, and others' forks with it. In place of each,
 *    an idle settled tree the tiers above left, if there is one (by TERM, unless its key
 *    ends cleanly): a crash too, but not a session's start.
 * A stop that may be a crash goes one per key at a time, the one that frees the most first,
 * and short of critical waits for the app's answer to the last one of its key (ANSWER_WAIT_MS:
 * the app may close the key's other instances itself; once that was seen, they count as freed
 * as soon as the crash is made), unless usage is at the limit itself and would still be after
 * it. Starting trees (6.) wait for no answer, and go several of a key while the rest, grown,
 * would reach the limit. Never beyond the key's crash budget (--crash-budget: what the app
 * tolerates over its life).
 */
export function relieve(ctx: RuleContext, limit: LimitSpec | undefined, taken: Taken): Stop[] {
  if (limit === undefined) return [];
  const { pressure, expected, growing } = judgePressure(ctx, limit, taken);
  if (pressure === undefined) return [];
  const relief = new Relief(ctx, limit, taken, { pressure, expected, growing });
  relief.takeOrphans();
  relief.takeSettled();
  relief.takeStarting();
  return relief.stops;
}

/** The pids headroom rule. */
export function relievePids(ctx: RuleContext, taken: Taken): Stop[] {
  return relieve(ctx, pidsLimitOf(ctx), taken);
}

/** The memory headroom rule. */
export function relieveMemory(ctx: RuleContext, taken: Taken): Stop[] {
  return relieve(ctx, memoryLimitOf(ctx), taken);
}
