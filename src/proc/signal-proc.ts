import { hasProcFs } from './has-proc-fs.js';
import { readStat } from './read-proc.js';
import { isZombie, type ProcRef, type ProcStat } from './snapshot.js';

const procFs = hasProcFs();

/** What became of one signal sent to a ProcRef. */
export type SignalOutcome = 'sent' | 'gone' | 'failed';

/**
 * Sends `signal` to the process only if its pid still has the recorded start time,
 * so a pid reused by a new process is never hit. ESRCH means "already gone".
 */
export function signalProc(ref: ProcRef, signal: NodeJS.Signals, procRoot = '/proc'): SignalOutcome {
  if (procFs) {
    const now = readStat(ref.pid, procRoot);
    if (!now || now.startTicks !== ref.startTicks) return 'gone';
  }
  try {
    process.kill(ref.pid, signal);
    return 'sent';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : 'failed';
  }
}

/**
 * The process as it runs now, if it is still the same one (same start time, not a zombie);
 * undefined when it is gone. Without /proc (macOS) only the pid can be checked, and the
 * recorded figures are returned.
 */
export function readIfStillRunning<T extends ProcRef>(ref: T, procRoot = '/proc'): T | (T & ProcStat) | undefined {
  if (!procFs) {
    try {
      process.kill(ref.pid, 0);
      return ref;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? ref : undefined;
    }
  }
  const now = readStat(ref.pid, procRoot);
  return now !== undefined && now.startTicks === ref.startTicks && !isZombie(now) ? { ...ref, ...now } : undefined;
}

/** Whether the process is still running as the same process. */
export function isStillRunning(ref: ProcRef, procRoot = '/proc'): boolean {
  return readIfStillRunning(ref, procRoot) !== undefined;
}
