import type { GuardLoopOptions } from './guard-loop-options.js';
import { makeGuardLoop } from './loop-parts.js';
import { PollTimers } from './poll-timers.js';
import { scanOnce } from './scan-once.js';

export type { GuardLoopOptions } from './guard-loop-options.js';

/** A running guard. */
export type Guard = { stop: () => void };

/**
 * Runs the guard, a thin shell around stepGuard (step.ts): polls pids.current, memory and the
 * app's new children, scans /proc when a poll calls for it (scan-timing.ts), steps, logs each
 * decision, stops instances in the background and feeds how each stop ended back to the
 * state, and publishes what it saw. Never spawns and never blocks: it keeps working in a full
 * pids cgroup.
 */
export function startGuard(options: GuardLoopOptions): Guard {
  const loop = makeGuardLoop(options);
  const timers = new PollTimers(loop, () => scanOnce(loop));
  timers.start();
  return { stop: () => timers.stop() };
}
