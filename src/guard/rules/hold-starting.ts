// Holding starts back: under pressure, at most a few trees start at once, and the youngest
// beyond wait stopped (SIGSTOP) until one of those has started. A stop of a starting tree is a
// crash to MetaMCP and a retry 5 s later; a held tree is neither. And on a small machine
// twenty `npx` trees starting at once all starve (a load of 90 on two cores was seen), where a
// few at a time get done: the CPU goes to the oldest, which its session is waiting for longest.
import type { Instance } from '../instances.js';
import type { RuleContext } from './context.js';
import { growthOf, memoryLimitOf, pidsLimitOf } from './limits.js';

/**
 * A held tree goes on after this long however many start, as soon as, grown, it fits under the
 * limit itself: an app that never gives up on it must not wait for a place among the starts for
 * ever. MetaMCP's MCP client waits 60 s for a server's first answer, then closes it (a TERM to
 * its group, which lets it go on at once, to end): a close it asked for, no crash. Let go at
 * 20 s, the trees of the real four-server run went on into a full limit (52 of 62 let go so; 6
 * launchers aborted). A tree let go into a limit it does not fit aborts at its next fork (a
 * crash to the app), so it waits on until it fits, or until its app closes it.
 */
export const HOLD_MAX_MS = 60_000;

/** What the guard holds: since when each instance is held, and those it let go on, which it never holds again. */
export type Holds = { heldSinceMs: ReadonlyMap<string, number>; released: ReadonlySet<string> };

export const NO_HOLDS: Holds = { heldSinceMs: new Map(), released: new Set() };

/** Why a held tree goes on: there is room among the starts, its app asks it to close, or it was held HOLD_MAX_MS. */
export type ReleaseWhy = 'room' | 'close-asked' | 'held-long';

/** What to hold, what to let go on, and the holds after. */
export type HoldPlan = { hold: Instance[]; release: { instance: Instance; why: ReleaseWhy }[]; holds: Holds };

/**
 * Plans holds. Once a limit is at its high mark (`pressed`), the `config.maxStarting` oldest
 * of the app's starting trees run, and only as many as keep every limit short of it once
 * grown (memory: short of its critical mark); the younger are held. A held tree forks
 * nothing, so the kernel refuses none of its forks. (Weighed against the critical mark
 * instead, to keep room for the app's own spawns of launchers, the starts on the real
 * four-server pool at pids.max 300 starved: 1 of 30 sessions served against 10, and the
 * limit was still reached.) As the oldest start or go, the oldest held go on, whether the limit is still near
 * or not: the stops a limit forces take it below its mark within a scan, and a herd let go
 * then starves again. A held tree goes on at once when its app asks it to close (a TERM, INT
 * or HUP pending on a member, `closeAsked`: it can act on none while stopped), and once it was
 * held HOLD_MAX_MS, as soon as it fits under the limit. A tree being stopped is no longer held
 * (the stop sends SIGCONT after its signal). Orphans are never held: nobody waits for them. A
 * tree is held once: once it goes on, it runs to its end.
 */
export function planHolds(
  ctx: RuleContext,
  before: Holds,
  { pressed, stopping, closeAsked, dryRun }: { pressed: boolean; stopping: ReadonlySet<string>; closeAsked: (instance: Instance) => boolean; dryRun: boolean },
): HoldPlan {
  const present = new Map(ctx.instances.map((i) => [i.id, i]));
  const book: HoldBook = {
    heldSinceMs: new Map([...before.heldSinceMs].filter(([id]) => present.has(id) && !stopping.has(id))),
    released: new Set([...before.released].filter((id) => present.has(id))),
    release: [],
  };
  for (const id of [...book.heldSinceMs.keys()]) {
    const instance = present.get(id)!;
    if (closeAsked(instance)) letGo(book, instance, 'close-asked');
  }
  const mayHold = !dryRun && ctx.config.maxStarting > 0 && (pressed || book.heldSinceMs.size > 0);
  const starting = ctx.instances
    .filter((i) => ctx.stateOf(i).starting && !i.orphaned && !stopping.has(i.id))
    .sort((a, b) => a.launcher.startTicks - b.launcher.startTicks || a.launcher.pid - b.launcher.pid);
  // Youngest first in the log: the order a reader expects of what waits.
  const hold = mayHold ? placeStarts(ctx, book, starting).reverse() : [];
  return { hold, release: book.release, holds: { heldSinceMs: book.heldSinceMs, released: book.released } };
}

/** The holds being planned, and what was let go so far. */
type HoldBook = { heldSinceMs: Map<string, number>; released: Set<string>; release: HoldPlan['release'] };

function letGo(book: HoldBook, instance: Instance, why: ReleaseWhy): void {
  book.heldSinceMs.delete(instance.id);
  book.released.add(instance.id);
  book.release.push({ instance, why });
}

/**
 * Goes through the starting trees, oldest first: they run while they are fewer than
 * `maxStarting` and, grown, keep every limit short of it (the oldest held go on as places and
 * room free up); of the younger, those not let go before wait, and those held HOLD_MAX_MS go
 * on if they fit. A tree let go before runs whatever, and counts. Returns the trees to hold now.
 */
function placeStarts(ctx: RuleContext, book: HoldBook, starting: readonly Instance[]): Instance[] {
  const limits = [pidsLimitOf(ctx), memoryLimitOf(ctx)].filter((limit) => limit !== undefined);
  const expected = limits.map((limit) => limit.usage);
  // The kernel refuses a fork at the pids limit; memory kills at its limit, so its critical mark.
  const fits = (instance: Instance) =>
    limits.every((limit, k) => expected[k]! + growthOf(limit, instance) < (limit.killsAtLimit ? limit.marks.critical : limit.marks.limit));
  let running = 0;
  const count = (instance: Instance) => {
    running += 1;
    limits.forEach((limit, k) => {
      expected[k]! += growthOf(limit, instance);
    });
  };
  const hold: Instance[] = [];
  for (const instance of starting) {
    const heldSinceMs = book.heldSinceMs.get(instance.id);
    if (book.released.has(instance.id)) count(instance);
    else if (running < ctx.config.maxStarting && fits(instance)) {
      if (heldSinceMs !== undefined) letGo(book, instance, 'room');
      count(instance);
    } else if (heldSinceMs !== undefined && ctx.nowMs - heldSinceMs >= HOLD_MAX_MS && fits(instance)) {
      letGo(book, instance, 'held-long');
      count(instance);
    } else if (heldSinceMs === undefined) {
      hold.push(instance);
      book.heldSinceMs.set(instance.id, ctx.nowMs);
    }
  }
  return hold;
}
