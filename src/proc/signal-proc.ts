import { constants } from 'node:os';
import type { Pidfds } from '../sys/libc.js';
import type { ProcSource } from './proc-source.js';
import { readStat } from './read-proc.js';
import { isZombie, type ProcRef, type ProcStat } from './snapshot.js';

/** What became of one signal sent to a ProcRef. */
export type SignalOutcome = 'sent' | 'gone' | 'failed';

/** A signal's outcome with, when it failed, the reason (EPERM: not ours to signal). */
export type SignalResult = { outcome: SignalOutcome; errno?: string };

/**
 * What signalling a recorded process needs, decided once at start-up and passed down: the
 * /proc its pids are read from, and pidfds where the kernel has them (Libc.pidfds).
 */
export type ProcAccess = { source: ProcSource; pidfds: Pidfds | undefined };

/**
 * Sends `signal` to the process only if it is still the recorded one, never to a process
 * that took its pid. With pidfds (Linux 5.3+): open a pidfd, check the start time, signal
 * through the pidfd; the pidfd holds that very process, so it cannot change between the
 * check and the signal. Without: check the start time, then kill(), which leaves a window
 * of microseconds. ESRCH means "already gone".
 */
export function trySignalProc(ref: ProcRef, signal: NodeJS.Signals, access: ProcAccess): SignalResult {
  const { source, pidfds: handles } = access;
  if (source.kind === 'foreign') return { outcome: 'failed', errno: 'EFOREIGNPROC' };
  if (source.kind === 'none') return killPid(ref.pid, signal);
  const procRoot = source.root;
  const opened = handles?.open(ref.pid);
  if (opened && 'errno' in opened) return opened.errno === 3 /* ESRCH */ ? { outcome: 'gone' } : killChecked(ref, signal, procRoot);
  try {
    if (!hasStartTime(ref, procRoot)) return { outcome: 'gone' };
    if (!handles || !opened) return killPid(ref.pid, signal);
    const errno = handles.sendSignal(opened.fd, constants.signals[signal]);
    if (errno === 0) return { outcome: 'sent' };
    return errno === 3 ? { outcome: 'gone' } : { outcome: 'failed', errno: errno === 1 ? 'EPERM' : `errno ${errno}` };
  } finally {
    if (handles && opened && 'fd' in opened) handles.close(opened.fd);
  }
}

/** Sends `signal` to the recorded process only (see trySignalProc): 'sent', 'gone' or 'failed'. */
export function signalProc(ref: ProcRef, signal: NodeJS.Signals, access: ProcAccess): SignalOutcome {
  return trySignalProc(ref, signal, access).outcome;
}

function hasStartTime(ref: ProcRef, procRoot: string): boolean {
  const now = readStat(ref.pid, procRoot);
  return now !== undefined && now.startTicks === ref.startTicks;
}

function killChecked(ref: ProcRef, signal: NodeJS.Signals, procRoot: string): SignalResult {
  return hasStartTime(ref, procRoot) ? killPid(ref.pid, signal) : { outcome: 'gone' };
}

function killPid(pid: number, signal: NodeJS.Signals): SignalResult {
  try {
    process.kill(pid, signal);
    return { outcome: 'sent' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ESRCH' ? { outcome: 'gone' } : { outcome: 'failed', errno: code };
  }
}

/**
 * The process as it runs now, if it is still the same one (same start time, not a zombie);
 * undefined when it is gone. Without /proc (macOS) only the pid can be checked, and the
 * recorded figures are returned.
 */
export function readIfStillRunning<T extends ProcRef>(ref: T, source: ProcSource): T | (T & ProcStat) | undefined {
  if (source.kind === 'foreign') return undefined;
  if (source.kind === 'none') {
    try {
      process.kill(ref.pid, 0);
      return ref;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? ref : undefined;
    }
  }
  const now = readStat(ref.pid, source.root);
  return now !== undefined && now.startTicks === ref.startTicks && !isZombie(now) ? { ...ref, ...now } : undefined;
}

/** Whether the process is still running as the same process. */
export function isStillRunning(ref: ProcRef, source: ProcSource): boolean {
  return readIfStillRunning(ref, source) !== undefined;
}
