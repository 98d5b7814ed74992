import { readAllStats, readChildPids } from '../proc/read-proc.js';
import type { Libc } from '../sys/libc.js';

/** One child the init reaped. */
export type Reaped = { pid: number; status: number };

export type ReapOptions = {
  initPid: number;
  libc: Libc;
  /** Pids libuv waits for itself (the main child): reaping them would steal its exit. */
  isOwnedByLibuv: (pid: number) => boolean;
  procRoot?: string;
};

/**
 * Reaps every exited child of the init, one pid at a time with waitpid(pid, WNOHANG).
 * Never waitpid(-1): it would take the exit status of libuv's own child (docs/facts.md).
 * A zombie's pid cannot be reused before it is reaped, so this is race-free.
 */
export function reapZombies({ initPid, libc, isOwnedByLibuv, procRoot }: ReapOptions): Reaped[] {
  const reaped: Reaped[] = [];
  for (const pid of listChildPids(initPid, procRoot)) {
    if (isOwnedByLibuv(pid)) continue;
    const result = libc.waitPidNoHang(pid);
    if (result.kind === 'reaped') reaped.push({ pid, status: result.status });
  }
  return reaped;
}

/** The init's children: from /proc/PID/task/TID/children when the kernel has it, else a full scan. */
function listChildPids(initPid: number, procRoot?: string): number[] {
  const children = readChildPids(initPid, procRoot);
  if (children) return children;
  const pids: number[] = [];
  for (const proc of readAllStats(procRoot).values()) if (proc.ppid === initPid) pids.push(proc.pid);
  return pids;
}

/**
 * Reaps exited children without reading /proc, for when /proc is not the init's own: the
 * kernel names one waiting child at a time (waitid with WNOWAIT), which is then reaped by
 * its pid. Stops at libuv's own child, which libuv reaps itself.
 */
export function reapZombiesWithoutProc({ libc, isOwnedByLibuv }: Pick<ReapOptions, 'libc' | 'isOwnedByLibuv'>): Reaped[] {
  const reaped: Reaped[] = [];
  for (let pid = libc.peekExitedChild(); pid !== undefined && !isOwnedByLibuv(pid); pid = libc.peekExitedChild()) {
    const result = libc.waitPidNoHang(pid);
    if (result.kind !== 'reaped') break;
    reaped.push({ pid, status: result.status });
  }
  return reaped;
}
