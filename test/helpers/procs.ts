// /proc helpers for tests: the same readers the init uses, seen from outside.

import { detectProcSource } from '../../src/proc/proc-source.js';
import { readProcText } from '../../src/proc/read-file.js';
import { readAllStats, readStat } from '../../src/proc/read-proc.js';
import { isStillRunning, type ProcAccess, signalProc } from '../../src/proc/signal-proc.js';
import type { ProcRef, ProcStat } from '../../src/proc/snapshot.js';
import { findDescendants } from '../../src/proc/tree.js';
import { loadLibc } from '../../src/sys/libc.js';

export { readStat };

/** The test process's own /proc and pidfds, as the init decides its own at start-up. */
export const TEST_ACCESS: ProcAccess = { source: detectProcSource(), pidfds: loadLibc().pidfds };

/** Whether the process is alive (present and not a zombie) with that start time. */
export const isAlive = (ref: ProcRef): boolean => isStillRunning(ref, TEST_ACCESS.source);

/** The descendants of a pid now. */
export function descendantsOf(pid: number): ProcStat[] {
  return findDescendants(readAllStats(), pid);
}

/**
 * SIGKILLs a process tree that a test started: the descendants first, then the root. Only
 * while the root is still that process: pids come round again within minutes here (pid_max
 * 32768, and the suite starts tens of thousands of tasks), and a reused pid's tree is another
 * test's. Take the ref while the process runs (refOfSpawned), not at clean-up.
 */
export function killTree(root: ProcRef): void {
  if (!isAlive(root)) return;
  for (const proc of descendantsOf(root.pid)) signalProc(proc, 'SIGKILL', TEST_ACCESS);
  signalProc(root, 'SIGKILL', TEST_ACCESS);
}

/** The ProcRef of a process just spawned, or undefined when it is gone already. */
export function refOfSpawned(child: { pid?: number | undefined }): ProcRef | undefined {
  const stat = child.pid === undefined ? undefined : readStat(child.pid);
  return stat && { pid: stat.pid, startTicks: stat.startTicks };
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
