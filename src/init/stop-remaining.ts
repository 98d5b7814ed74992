import type { Logger } from 'pino';
import { readAllStats } from '../proc/read-proc.js';
import { signalProc } from '../proc/signal-proc.js';
import { isZombie, refKey, type ProcStat } from '../proc/snapshot.js';
import { findDescendants } from '../proc/tree.js';
import type { GraceDeadline } from './grace-deadline.js';
import { sleep } from '../sleep.js';

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
      for (const proc of alive) sendOnce(proc, 'SIGTERM', termed, procRoot);
    } else {
      killStartMs ??= Date.now();
      for (const proc of alive) sendOnce(proc, 'SIGKILL', killed, procRoot);
      if (Date.now() - killStartMs > killWaitMs) {
        log.warn({ pids: procs.map((proc) => proc.pid), states: procs.map((proc) => proc.state) },
          'processes still present after SIGKILL; giving up waiting for them');
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
