// The /proc model shared by the init and the guard.

/** A pid is never alone: start time tells a process from a later one with its pid. */
export type ProcRef = { pid: number; startTicks: number };

/** `pid:startTicks`: names one process for good, unlike its pid. */
export function refKey(ref: ProcRef): string {
  return `${ref.pid}:${ref.startTicks}`;
}

/** One process as /proc/PID/stat describes it. */
export type ProcStat = ProcRef & {
  comm: string;
  /** R, S, D, Z, T, … (proc(5)). */
  state: string;
  ppid: number;
  pgid: number;
  /** PF_* flags (include/linux/sched.h). */
  flags: number;
  sid: number;
  /** Tasks, i.e. threads: what pids.max counts. */
  threads: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssPages: number;
};

const PF_FORKNOEXEC = 0x40;

/** Whether the process has forked but not exec'd yet: its command line is still its parent's. */
export function hasNotExeced(proc: Pick<ProcStat, 'flags'>): boolean {
  return (proc.flags & PF_FORKNOEXEC) !== 0;
}

/** Whether the process has exited and waits to be reaped. */
export function isZombie(proc: Pick<ProcStat, 'state'>): boolean {
  return proc.state === 'Z';
}

/** One process with its command line: what the guard sees. */
export type ProcInfo = ProcStat & {
  /** /proc/PID/cmdline split at NUL; npm's title is one element with spaces. */
  argv: readonly string[];
};
