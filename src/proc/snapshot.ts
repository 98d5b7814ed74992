// The /proc model shared by the init and the guard.

/** A pid is never alone: start time tells a process from a later one with its pid. */
export type ProcRef = { pid: number; startTicks: number };

/** One process as /proc/PID/stat describes it. */
export type ProcStat = ProcRef & {
  comm: string;
  /** R, S, D, Z, T, … (proc(5)). */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Tasks, i.e. threads: what pids.max counts. */
  threads: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssPages: number;
};

/** Whether the process has exited and waits to be reaped. */
export function isZombie(proc: Pick<ProcStat, 'state'>): boolean {
  return proc.state === 'Z';
}
