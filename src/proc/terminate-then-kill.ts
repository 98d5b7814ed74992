// The one way processes are stopped, by the init's shutdown and by the guard alike: TERM,
// a grace to exit, then KILL to whatever is left, and a last wait for those in
// uninterruptible sleep. What a set of processes is, and how each is checked to still be the
// process meant before a signal, is the target's.
import { sleep } from '../sleep.js';

/** What is stopped. */
export type StopTarget = {
  /**
   * Sends the signal to what is still there and has not had it yet (a target whose members
   * can grow, such as a namespace, signals the newcomers); the kernel refused `failed`.
   */
  signal: (signal: 'SIGTERM' | 'SIGKILL') => { sent: number; failed: number };
  /** How many are still there; looked at once per poll. */
  left: () => number;
};

/** When the grace is over: a deadline shared with other waits, or one of this stop's own. */
export type Grace = { isOver: () => boolean; reached?: Promise<void> };

export type TerminateOptions = {
  grace: Grace;
  /** How long to wait after KILL for processes stuck in uninterruptible sleep. */
  killWaitMs: number;
  pollMs?: number;
  /** Called before each look, such as reaping the init's zombies so that the dead disappear. */
  beforeLook?: () => void;
  /** Give up at once when the first TERM reached nothing and was refused (EPERM). */
  giveUpIfRefused?: boolean;
};

export type TerminateResult = { termed: number; killed: number; failed: number; left: number };

/** A grace of `ms` from now. */
export function graceOf(ms: number): Grace {
  const endMs = Date.now() + ms;
  return { isOver: () => Date.now() >= endMs };
}

/**
 * TERM while the grace runs, KILL once it is over, until nothing is left or the KILL wait
 * runs out. Returns what was sent and how many are left.
 */
export async function terminateThenKill(target: StopTarget, options: TerminateOptions): Promise<TerminateResult> {
  const { grace, killWaitMs, pollMs = 50, beforeLook, giveUpIfRefused = false } = options;
  const result = { termed: 0, killed: 0, failed: 0, left: 0 };
  let killStartMs: number | undefined;
  for (let first = true; ; first = false) {
    beforeLook?.();
    result.left = target.left();
    if (result.left === 0) return result;
    const over = grace.isOver();
    if (over) killStartMs ??= Date.now();
    const sent = target.signal(over ? 'SIGKILL' : 'SIGTERM');
    if (over) result.killed += sent.sent;
    else result.termed += sent.sent;
    result.failed += sent.failed;
    if (first && giveUpIfRefused && sent.sent === 0 && sent.failed > 0) return result;
    if (killStartMs !== undefined && Date.now() - killStartMs >= killWaitMs) {
      beforeLook?.();
      result.left = target.left();
      return result;
    }
    // Wake early when the grace ends, but only while it still runs: once over, it is resolved.
    await (over || grace.reached === undefined ? sleep(pollMs) : Promise.race([sleep(pollMs), grace.reached]));
  }
}
