import type { Logger } from 'pino';
import { readAllStats } from '../proc/read-proc.js';
import { signalProc } from '../proc/signal-proc.js';
import { isZombie, type ProcStat, refKey } from '../proc/snapshot.js';
import { findDescendants } from '../proc/tree.js';
import { sleep } from '../sleep.js';
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
  procRoot?: string;
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
 * runs, KILL to whatever is left once it is over, and returns when nothing but the init is left.
 */
export async function stopRemaining(options: StopRemainingOptions): Promise<StopSummary> {
  const { initPid, deadline, reap, log, pollMs = 50, killWaitMs = 5000, procRoot } = options;
  const termed = new Set<string>();
  const killed = new Set<string>();
  let killStartMs: number | undefined;
  for (;;) {
    reap();
    const procs = findResponsibleProcs(readAllStats(procRoot), initPid);
    const alive = procs.filter((proc) => !isZombie(proc));
    if (procs.length === 0) return { termed: termed.size, killed: killed.size, left: 0 };
    if (!deadline.isOver()) {
      for (const proc of alive) {
        // A process stopped (by the guard's hold, or anyone's SIGSTOP) acts on TERM only once it goes on.
        if (!termed.has(refKey(proc))) signalProc(proc, 'SIGCONT', procRoot);
        sendOnce(proc, 'SIGTERM', termed, procRoot);
      }
    } else {
      killStartMs ??= Date.now();
      for (const proc of alive) sendOnce(proc, 'SIGKILL', killed, procRoot);
      if (Date.now() - killStartMs > killWaitMs) {
        log.warn(
          { pids: procs.map((proc) => proc.pid), states: procs.map((proc) => proc.state) },
          'processes still present after SIGKILL; giving up waiting for them',
        );
        return { termed: termed.size, killed: killed.size, left: procs.length };
      }
    }
    // Wake early when the grace ends, but only while it still runs: once over, it is resolved.
    await (deadline.isOver() ? sleep(pollMs) : Promise.race([sleep(pollMs), deadline.reached]));
  }
}

function sendOnce(proc: ProcStat, signal: NodeJS.Signals, sent: Set<string>, procRoot?: string): void {
  const key = refKey(proc);
  if (sent.has(key)) return;
  sent.add(key);
  signalProc(proc, signal, procRoot);
}

/**
 * Stops the main child's process group only, when /proc cannot say which processes are
 * ours: TERM while the grace runs, KILL once it is over, until the group is empty. The
 * group id is the child's pid, which no new process can take while the group has members.
 */
export async function stopChildGroup(options: Omit<StopRemainingOptions, 'initPid' | 'procRoot'> & { pgid: number }): Promise<StopSummary> {
  const { pgid, deadline, reap, log, pollMs = 50, killWaitMs = 5000 } = options;
  let termed = 0;
  let killed = 0;
  let killStartMs: number | undefined;
  const signalGroup = (signal: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-pgid, signal);
      return true;
    } catch {
      return false;
    }
  };
  for (;;) {
    reap();
    if (!signalGroup(0)) return { termed, killed, left: 0 };
    if (!deadline.isOver()) {
      if (termed === 0 && signalGroup('SIGTERM')) termed = 1;
    } else {
      killStartMs ??= Date.now();
      if (killed === 0 && signalGroup('SIGKILL')) killed = 1;
      if (Date.now() - killStartMs > killWaitMs) {
        log.warn({ pgid }, "the main child's process group is still there after SIGKILL; giving up waiting for it");
        return { termed, killed, left: 1 };
      }
    }
    await (deadline.isOver() ? sleep(pollMs) : Promise.race([sleep(pollMs), deadline.reached]));
  }
}
