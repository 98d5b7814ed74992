import type { Logger } from 'pino';
import { procRootOf } from '../proc/proc-source.js';
import { readAllStats } from '../proc/read-proc.js';
import { type ProcAccess, signalProc } from '../proc/signal-proc.js';
import { isZombie, type ProcStat, refKey } from '../proc/snapshot.js';
import { type StopTarget, terminateThenKill } from '../proc/terminate-then-kill.js';
import { findDescendants } from '../proc/tree.js';
import type { GraceDeadline } from './grace-deadline.js';

export type StopRemainingOptions = {
  initPid: number;
  deadline: GraceDeadline;
  /** Reaps the init's zombies; called on every poll so that killed orphans disappear. */
  reap: () => void;
  log: Logger;
  pollMs?: number;
  /** How long to wait after KILL for processes stuck in uninterruptible sleep. */
  killWaitMs?: number;
  /** Where the init's processes are read, and the pidfds to signal them through. */
  access: ProcAccess;
};

/** What stopRemaining did. */
export type StopSummary = { termed: number; killed: number; left: number };

/**
 * Every process the init is responsible for: as PID 1, everything in the namespace (this
 * includes `docker exec` sessions, whose parent is outside it); otherwise its descendants.
 */
export function findResponsibleProcs(procs: ReadonlyMap<number, ProcStat>, initPid: number): ProcStat[] {
  if (initPid === 1) return [...procs.values()].filter((proc) => proc.pid !== initPid);
  return findDescendants(procs, initPid);
}

/**
 * Stops everything the init is still responsible for: TERM to each process while the grace
 * runs (and to each that appears meanwhile), KILL to whatever is left once it is over, and
 * returns when nothing but the init is left.
 */
export async function stopRemaining(options: StopRemainingOptions): Promise<StopSummary> {
  const { initPid, deadline, reap, log, pollMs = 50, killWaitMs = 5000, access } = options;
  const sent = { SIGTERM: new Set<string>(), SIGKILL: new Set<string>() };
  let procs: ProcStat[] = [];
  const target: StopTarget = {
    left: () => {
      procs = findResponsibleProcs(readAllStats(procRootOf(access.source)), initPid);
      return procs.length;
    },
    signal: (signal) => {
      const outcome = { sent: 0, failed: 0 };
      for (const proc of procs) {
        const key = refKey(proc);
        if (isZombie(proc) || sent[signal].has(key)) continue;
        sent[signal].add(key);
        // A process stopped (by the guard's hold, or anyone's SIGSTOP) acts on TERM only once it goes on.
        if (signal === 'SIGTERM') signalProc(proc, 'SIGCONT', access);
        const result = signalProc(proc, signal, access);
        if (result === 'sent') outcome.sent += 1;
        else if (result === 'failed') outcome.failed += 1;
      }
      return outcome;
    },
  };
  const result = await terminateThenKill(target, { grace: deadline, killWaitMs, pollMs, beforeLook: reap });
  if (result.left > 0) {
    log.warn(
      { pids: procs.map((proc) => proc.pid), states: procs.map((proc) => proc.state) },
      'processes still present after SIGKILL; giving up waiting for them',
    );
  }
  return { termed: result.termed, killed: result.killed, left: result.left };
}

/**
 * Stops the main child's process group only, when /proc cannot say which processes are
 * ours: TERM while the grace runs, KILL once it is over, until the group is empty. The
 * group id is the child's pid, which no new process can take while the group has members.
 */
export async function stopChildGroup(options: Omit<StopRemainingOptions, 'initPid' | 'access'> & { pgid: number }): Promise<StopSummary> {
  const { pgid, deadline, reap, log, pollMs = 50, killWaitMs = 5000 } = options;
  const signalGroup = (signal: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-pgid, signal);
      return true;
    } catch {
      return false;
    }
  };
  const sent = new Set<string>();
  const target: StopTarget = {
    left: () => (signalGroup(0) ? 1 : 0),
    signal: (signal) => {
      if (sent.has(signal)) return { sent: 0, failed: 0 };
      sent.add(signal);
      return signalGroup(signal) ? { sent: 1, failed: 0 } : { sent: 0, failed: 0 };
    },
  };
  const result = await terminateThenKill(target, { grace: deadline, killWaitMs, pollMs, beforeLook: reap });
  if (result.left > 0) log.warn({ pgid }, "the main child's process group is still there after SIGKILL; giving up waiting for it");
  return { termed: result.termed, killed: result.killed, left: result.left };
}
