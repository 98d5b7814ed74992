import { hasProcFs } from './has-proc-fs.js';
import { readStat } from './read-proc.js';
import { isZombie, type ProcRef } from './snapshot.js';

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

/** Whether the process is still running as the same process (without /proc: has that pid). */
export function isStillRunning(ref: ProcRef, procRoot = '/proc'): boolean {
  if (!procFs) {
    try {
      process.kill(ref.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const now = readStat(ref.pid, procRoot);
  return now !== undefined && now.startTicks === ref.startTicks && !isZombie(now);
}
