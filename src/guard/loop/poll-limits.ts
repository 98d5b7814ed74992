// The polls between scans: pids.current and the memory of the tightest level, small reads
// that say (as scan-timing.ts decides) whether to scan now and how long to wait for the next.
import { pollWorkingSet, readPidsCurrent } from '../../cgroup/read-figures.js';
import { addReading } from '../growth.js';
import { decideScan, type MemoryPoll, nextPollMs, scanEveryMs } from '../scan-timing.js';
import type { GuardLoop, LoopState } from './loop-parts.js';

/** Polls both limits, keeps the readings their growth is taken from, and says whether to scan now. */
export function pollLimits(loop: GuardLoop): boolean {
  const { state, options } = loop;
  const nowMs = Date.now();
  const currentTasks = options.cgroupDirs.pids ? readPidsCurrent(options.cgroupDirs.pids.dir) : undefined;
  if (currentTasks !== undefined) state.pidsReadings = addReading(state.pidsReadings, { atMs: nowMs, value: currentTasks });
  const memory = pollMemory(loop);
  if (memory) state.memoryReadings = addReading(state.memoryReadings, { atMs: nowMs, value: memory.bytes });
  const pollState = {
    currentTasks,
    seenTasks: state.seenTasks,
    pressed: state.pressed,
    memory,
    instances: state.seen.instances,
    msSinceLastScan: nowMs - state.lastScanMs,
  };
  options.stats.scanEveryMs = scanEveryMs(pollState, options);
  const decision = decideScan(pollState, options);
  state.seenTasks = decision.seenTasks;
  return decision.scan;
}

/** How long to wait for the next poll. */
export function nextWaitMs(loop: GuardLoop): number {
  const { state } = loop;
  const timing = {
    pressed: state.pressed,
    seenTasks: state.seenTasks,
    highMark: state.seen.limits.pids?.marks.high,
    memory: memoryTiming(state),
  };
  return nextPollMs(timing, loop.options);
}

// Memory of the level whose limit the last scan found tightest: its working set as just read,
// as that scan saw it, and its marks.
function pollMemory({ state, options }: GuardLoop): MemoryPoll | undefined {
  const memory = state.seen.cgroup.memory;
  const marks = state.seen.limits.memory?.marks;
  if (!options.cgroupDirs.memory || memory === undefined || marks === undefined) return undefined;
  state.memoryBytes = pollWorkingSet({ ...options.cgroupDirs.memory, dir: memory.dir }, marks.high);
  return state.memoryBytes === undefined ? undefined : { bytes: state.memoryBytes, seenBytes: memory.workingSetBytes, marks };
}

function memoryTiming(state: LoopState) {
  const marks = state.seen.limits.memory?.marks;
  return state.memoryBytes === undefined || marks === undefined ? undefined : { bytes: state.memoryBytes, marks };
}
