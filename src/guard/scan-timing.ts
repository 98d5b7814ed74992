// When the guard reads pids.current, and when that reading calls for a full scan of /proc.
// Pure: the loop passes what it saw, and keeps what it is told to remember.

/** With no MCP instance and pids.current still, a full scan every this many intervals. */
export const QUIET_SCANS = 10;

export type ScanTimingOptions = {
  /** Full scan at least this often (--interval). */
  intervalMs: number;
  /** pids.current read at least this often near a limit. */
  pollMs: number;
};

/** What the loop knows at a poll. */
export type PollState = {
  /** pids.current just read, or undefined without a pids cgroup. */
  currentTasks: number | undefined;
  /** pids.current at the last scan, or lower if it fell since (see decideScan). */
  seenTasks: number | undefined;
  /** The last plan was near or past a limit. */
  pressed: boolean;
  /** MCP instances found by the last scan. */
  instances: number;
  msSinceLastScan: number;
};

/**
 * How often a full scan is due now. With no MCP instance and pids.current still, a full scan
 * can find nothing new but a process that exec'd into a launcher without a fork: every
 * QUIET_SCANS intervals is enough then. Idle scans were most of the init's idle CPU (1.5% of
 * a core at 250 processes, docs/facts.md).
 */
export function scanEveryMs(state: Pick<PollState, 'currentTasks' | 'pressed' | 'instances'>, options: ScanTimingOptions): number {
  return state.currentTasks !== undefined && !state.pressed && state.instances === 0 ? QUIET_SCANS * options.intervalMs : options.intervalMs;
}

/**
 * Whether this poll scans, and the task count to compare the next poll with.
 * - Near a limit every poll scans: what is busy must be seen at once, and stops happen in the
 *   quiet moments between requests.
 * - Growth scans at once: it may be a new MCP instance.
 * - A fall does not: processes exited, which brings nothing new to stop, and a scan then only
 *   takes the CPU from reaping them (2000 orphans: PID 1's CPU 60 -> 40 ms). The lower count
 *   is remembered, so that growth from it scans at once.
 * - Otherwise, a scan when one is due.
 */
export function decideScan(state: PollState, options: ScanTimingOptions): { scan: boolean; seenTasks: number | undefined } {
  const { currentTasks, pressed } = state;
  const fell = currentTasks !== undefined && state.seenTasks !== undefined && currentTasks < state.seenTasks;
  const seenTasks = fell ? currentTasks : state.seenTasks;
  const scan = pressed || currentTasks !== seenTasks || state.msSinceLastScan >= scanEveryMs(state, options);
  return { scan, seenTasks };
}

/**
 * When to read pids.current next. Near the high mark (or without one) every pollMs. Far from
 * it, as often as a growth of one task a millisecond (a storm of 40 npx trees a second) could
 * reach the mark, and at least every interval: each read is a wake-up of PID 1.
 */
export function nextPollMs(state: { pressed: boolean; seenTasks: number | undefined; highMark: number | undefined }, options: ScanTimingOptions): number {
  const { pressed, seenTasks, highMark } = state;
  if (pressed || highMark === undefined || seenTasks === undefined) return options.pollMs;
  return Math.max(options.pollMs, Math.min(options.intervalMs, highMark - seenTasks));
}
