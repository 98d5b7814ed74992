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
 * Reaps every exited child of the init. First the kernel names the waiting children one at a
 * time (waitid with WNOWAIT), each then reaped by its pid: the cost follows the zombies, not
 * the children, like tini's waitpid(-1) loop. That stops at libuv's own child when it waits
 * too (it may hide others behind it), and only then are the children listed and tried one by
 * one with waitpid(pid, WNOHANG). Never waitpid(-1): it would take the exit status of libuv's
 * own child (docs/facts.md). A zombie's pid cannot be reused before it is reaped, so this is
 * race-free.
 */
export function reapZombies(options: ReapOptions): Reaped[] {
  const { initPid, libc, isOwnedByLibuv, procRoot } = options;
  const reaped: Reaped[] = [];
  if (reapNamedByKernel(libc, isOwnedByLibuv, reaped) === 'none-left') return reaped;
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
 * Reaps exited children without reading /proc, for when /proc is not the init's own. Stops
 * at libuv's own child, which libuv reaps itself: nothing behind it can be found then.
 */
export function reapZombiesWithoutProc({ libc, isOwnedByLibuv }: Pick<ReapOptions, 'libc' | 'isOwnedByLibuv'>): Reaped[] {
  const reaped: Reaped[] = [];
  reapNamedByKernel(libc, isOwnedByLibuv, reaped);
  return reaped;
}

/**
 * The kernel names one waiting child at a time (waitid with WNOWAIT), which is then reaped by
 * its pid, into `reaped`. Says whether it ran out of waiting children or stopped at one it may
 * not take.
 */
function reapNamedByKernel(libc: Libc, isOwnedByLibuv: (pid: number) => boolean, reaped: Reaped[]): 'none-left' | 'stopped' {
  for (;;) {
    const pid = libc.peekExitedChild();
    if (pid === undefined) return 'none-left';
    if (isOwnedByLibuv(pid)) return 'stopped';
    const result = libc.waitPidNoHang(pid);
    if (result.kind !== 'reaped') return 'stopped';
    reaped.push({ pid, status: result.status });
  }
}
