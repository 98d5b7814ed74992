// /proc helpers for tests: the same readers the init uses, seen from outside.

import { readProcText } from '../../src/proc/read-file.js';
import { readAllStats, readStat } from '../../src/proc/read-proc.js';
import { isStillRunning, signalProc } from '../../src/proc/signal-proc.js';
import type { ProcRef, ProcStat } from '../../src/proc/snapshot.js';
import { findDescendants } from '../../src/proc/tree.js';

export { readStat };

/** Whether the process is alive (present and not a zombie) with that start time. */
export const isAlive = isStillRunning;

/** The descendants of a pid now. */
export function descendantsOf(pid: number): ProcStat[] {
  return findDescendants(readAllStats(), pid);
}

/** SIGKILLs a process tree that a test started: the descendants first, then the root. */
export function killTree(root: ProcRef): void {
  for (const proc of descendantsOf(root.pid)) signalProc(proc, 'SIGKILL');
  signalProc(root, 'SIGKILL');
}

/** A ProcRef for a live pid. */
export function refOf(pid: number): ProcRef {
  const stat = readStat(pid);
  if (!stat) throw new Error(`no process ${pid}`);
  return { pid, startTicks: stat.startTicks };
}

/** A process's command line as one string (NULs as spaces, npm's NUL padding dropped), or '' when gone. */
export function cmdlineOf(pid: number): string {
  return (readProcText(`/proc/${pid}/cmdline`, 'utf8') ?? '').replace(/\0+$/, '').replace(/\0/g, ' ');
}
