// When the guard reads pids.current and memory, and when a reading calls for a full scan of
// /proc. Pure: the loop passes what it saw, and keeps what it is told to remember.

import type { Watermarks } from './headroom.js';

/** With no MCP instance and pids.current still, a full scan every this many intervals. */
export const QUIET_SCANS = 10;

/**
 * The growth of memory a poll must keep up with: a Node server fills 100 MiB in about
 * 150 ms (0.7 MiB a millisecond, measured in the memory storm test), while another starts.
 * Far from the memory high mark, the next poll comes no later than such growth could reach it.
 */
export const MEMORY_GROWTH_BYTES_PER_MS = 1024 ** 2;

/**
 * Past the high mark, memory is read this often: one small read. Polls cannot see a jump
 * within one poll, and a server's start can take more than is left past the critical mark
 * in less than the 100 ms of a pids poll.
 */
export const MEMORY_POLL_MS = 20;

/** Past the high mark, memory that grew by this share of the headroom since the last scan is scanned at once. */
export const MEMORY_RESCAN_SHARE = 1 / 8;

export type ScanTimingOptions = {
  /** Full scan at least this often (--interval). */
  intervalMs: number;
  /** pids.current read at least this often near a limit, and a full scan at most this often while the last plan was pressed. */
  pollMs: number;
};

/** What the loop knows of memory at a poll, without a memory limit undefined. */
export type MemoryPoll = {
  /** The working set just read; below the high mark it may be usage, which bounds it. */
  bytes: number;
  /** The working set at the last scan. */
  seenBytes: number;
  /** The watermarks of the last scan. */
  marks: Watermarks;
};

/** What the loop knows at a poll. */
export type PollState = {
  /** pids.current just read, or undefined without a pids cgroup. */
  currentTasks: number | undefined;
  /** pids.current at the last scan, or lower if it fell since (see decideScan). */
  seenTasks: number | undefined;
  /** The last plan was near or past a limit. */
  pressed: boolean;
  memory?: MemoryPoll | undefined;
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
 * - Near a limit a scan every pollMs: what is busy must be seen at once, and stops happen in
 *   the quiet moments between requests.
 * - Growth of pids.current scans at once: it may be a new MCP instance.
 * - So does memory past its high mark that was under it at the last scan, or grew since by
 *   MEMORY_RESCAN_SHARE of the headroom: a starting server can take a hundred megabytes
 *   between two scans, more than is left past the critical mark.
 * - A fall of pids.current does not: processes exited, which brings nothing new to stop, and
 *   a scan then only takes the CPU from reaping them (2000 orphans: PID 1's CPU 60 -> 40 ms).
 *   The lower count is remembered, so that growth from it scans at once.
 * - Otherwise, a scan when one is due.
 */
export function decideScan(state: PollState, options: ScanTimingOptions): { scan: boolean; seenTasks: number | undefined } {
  const { currentTasks, pressed, msSinceLastScan } = state;
  const fell = currentTasks !== undefined && state.seenTasks !== undefined && currentTasks < state.seenTasks;
  const seenTasks = fell ? currentTasks : state.seenTasks;
  const scan =
    (pressed && msSinceLastScan >= options.pollMs) ||
    memoryGrewPastHigh(state.memory) ||
    currentTasks !== seenTasks ||
    msSinceLastScan >= scanEveryMs(state, options);
  return { scan, seenTasks };
}

function memoryGrewPastHigh(memory: MemoryPoll | undefined): boolean {
  if (memory === undefined || memory.bytes < memory.marks.high) return false;
  const headroom = memory.marks.limit - memory.marks.high;
  return memory.seenBytes < memory.marks.high || memory.bytes - memory.seenBytes >= headroom * MEMORY_RESCAN_SHARE;
}

/** What the next poll is timed by: the last plan's pressure and how far each limit's high mark is. */
export type PollTimingState = {
  pressed: boolean;
  seenTasks: number | undefined;
  /** The pids high mark, undefined without a pids limit. */
  highMark: number | undefined;
  /** The memory working set as last read, and the last scan's marks, without a memory limit undefined. */
  memory?: Pick<MemoryPoll, 'bytes' | 'marks'> | undefined;
};

/**
 * When to read pids.current and memory next: at least every interval, as each read is a
 * wake-up of PID 1, and sooner the nearer a limit is.
 * - pids: every pollMs when pressed, or with a pids cgroup without a limit (growth tells of
 *   new instances); far from the high mark, as often as a growth of one task a millisecond
 *   (a storm of 40 npx trees a second) could reach it.
 * - memory: every MEMORY_POLL_MS past the high mark; short of it, as often as a growth of
 *   MEMORY_GROWTH_BYTES_PER_MS could reach it.
 */
export function nextPollMs(state: PollTimingState, options: ScanTimingOptions): number {
  const { pressed, seenTasks, highMark, memory } = state;
  let waitMs = options.intervalMs;
  if (seenTasks !== undefined) {
    const pidsWaitMs = pressed || highMark === undefined ? options.pollMs : Math.max(options.pollMs, highMark - seenTasks);
    waitMs = Math.min(waitMs, pidsWaitMs);
  } else if (pressed) {
    waitMs = Math.min(waitMs, options.pollMs);
  }
  if (memory !== undefined) waitMs = Math.min(waitMs, Math.max(MEMORY_POLL_MS, (memory.marks.high - memory.bytes) / MEMORY_GROWTH_BYTES_PER_MS));
  return Math.floor(waitMs);
}
