import { readStat } from './read-proc.js';
import type { ProcRef } from './snapshot.js';

/** What became of one signal sent to a ProcRef. */
export type SignalOutcome = 'sent' | 'gone' | 'failed';

/**
 * Sends `signal` to the process only if its pid still has the recorded start time,
 * so a pid reused by a new process is never hit. ESRCH means "already gone".
 */
export function signalProc(ref: ProcRef, signal: NodeJS.Signals, procRoot = '/proc'): SignalOutcome {
  const now = readStat(ref.pid, procRoot);
  if (!now || now.startTicks !== ref.startTicks) return 'gone';
  try {
    process.kill(ref.pid, signal);
    return 'sent';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : 'failed';
  }
}
