// What a stop is: why it is made, how, what it costs the app, and the evidence behind it.
import type { InstanceState } from './activity.js';
import type { Instance } from './instances.js';

/** Why an instance is stopped; the metrics and the report read this list, so a new reason reaches them. */
export const STOP_REASONS = ['orphan', 'duplicate', 'max-instances', 'pids-headroom', 'memory-headroom'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/**
 * How an instance is stopped. `close-stdin`: the read side of its launcher's stdin socket is
 * shut down (proc/close-stdin.ts), the MCP stdio transport's own shutdown: its server reads
 * EOF and exits 0, its launcher with it, which an app like MetaMCP does not count as a crash.
 * `interrupt`: SIGINT to its server processes alone, which some servers answer by exiting 0
 * (their launcher then exits 0 too). If either leaves the tree running, `terminate` follows:
 * TERM to the launcher's process group, the stop grace, then KILL.
 */
export const STOP_METHODS = ['close-stdin', 'interrupt', 'terminate'] as const;
export type StopMethod = (typeof STOP_METHODS)[number];

/**
 * How a stop ended: by the stdin close alone (the tree exited 0 on EOF), by the interrupt
 * alone (an exit the app may not count), by TERM, by KILL after the grace, or not at all
 * (`survived`): the close or the interrupt did not end it (or the close could not be made),
 * and no TERM followed, since the key had no crash left to spend on one, or the stop's
 * deadline came. `gone`: the tree had ended before any of the guard's signals reached it,
 * closed by the app (after another stop's crash, say) or of itself: the stop says nothing of
 * how the key takes one.
 */
export const STOP_ENDS = ['close-stdin', 'interrupt', 'terminate', 'kill', 'survived', 'gone'] as const;

/** The endings an app like MetaMCP does not count as a crash when they are what it sees: an exit 0. */
export function endedClean(endedBy: StopEnd): boolean {
  return endedBy === 'close-stdin' || endedBy === 'interrupt';
}
export type StopEnd = (typeof STOP_ENDS)[number];

/**
 * What a stop costs the app, as far as the guard knows: `free` (an orphan: nothing holds it),
 * `clean` (its stdin can be closed, or its key's servers were seen to end cleanly on SIGINT,
 * and the app kept the key's other instances), or `crash` (the app counts it, and
 * may close every instance of the key).
 */
export const STOP_COSTS = ['free', 'clean', 'crash'] as const;
export type StopCost = (typeof STOP_COSTS)[number];

/**
 * How near a limit is: `high` (usage at the high mark; only stops that cost the app nothing),
 * `urgent` (the projection reaches the limit: the trees starting now, grown, and the growth
 * of the last moment; for memory its critical mark), `critical` (usage at the critical mark).
 */
export type Pressure = 'high' | 'urgent' | 'critical';

/** Why this instance and not another: the evidence of one decision. */
export type StopEvidence = InstanceState & {
  /** Instances of the same key in the snapshot, this one included. */
  instancesOfKey: number;
  /** Of the other instances of its key, how many were busy or still starting (spared). */
  busyOfKey: number;
  startingOfKey: number;
  cost: StopCost;
  /** Under pressure: how near the limit was, and the usage projected at that moment. */
  pressure?: Pressure;
  projected?: number;
  /** Another server started with it (a session asking for several) is still starting. */
  awaited?: boolean;
};

/** One instance to stop, and why. */
export type Stop = {
  instance: Instance;
  reason: StopReason;
  method: StopMethod;
  /**
   * An interrupt that did not end the tree is followed by TERM, grace and KILL. Not when the
   * stop was meant to cost nothing and its key has no crash left: a TERM there is a crash the
   * budget forbids, so the tree is left to run.
   */
  terminateIfIgnored: boolean;
  evidence: StopEvidence;
};
