// The only native edge: waitpid and prctl through koffi. Node has neither, and
// libuv's own waitpid covers only the children it spawned (engineering.md).
import type * as Koffi from 'koffi';

const WNOHANG = 1;
const PR_SET_CHILD_SUBREAPER = 36;
// sysconf names, the same in glibc and musl.
const SC_CLK_TCK = 2;
const SC_PAGESIZE = 30;

/** What waitpid reported for one pid. */
export type WaitResult =
  | { kind: 'running' }
  | { kind: 'reaped'; status: number }
  | { kind: 'not-a-child' };

/** The syscalls the init needs that Node does not offer. */
export type Libc = {
  /** waitpid(pid, WNOHANG) on one pid; never -1, which would steal libuv's child. */
  waitPidNoHang(pid: number): WaitResult;
  /** prctl(PR_SET_CHILD_SUBREAPER, 1): orphans of our descendants come to us. */
  setChildSubreaper(): void;
  /** Clock ticks per second: the unit of start times and CPU times in /proc/PID/stat. */
  clockTicksPerSecond(): number;
  /** Bytes per page: the unit of RSS in /proc/PID/stat (4 KiB, or 16/64 KiB on some arm64). */
  pageBytes(): number;
};

/** Loads libc through koffi; null libc resolves to glibc or musl alike. */
export function loadLibc(): Libc {
  // Required lazily so that `--help` and usage errors work without the binding.
  const koffi = require('koffi') as typeof Koffi;
  const lib = koffi.load(null as unknown as string);
  const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
  const sysconf = lib.func('long sysconf(int name)');
  // Linux only: macOS has no prctl (and needs no subreaper: the init never runs as PID 1 there).
  const prctl = process.platform === 'linux'
    ? lib.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)')
    : undefined;
  const errno = () => koffi.errno();

  return {
    waitPidNoHang(pid) {
      const status = [0];
      const rc = waitpid(pid, status, WNOHANG) as number;
      if (rc === pid) return { kind: 'reaped', status: status[0] ?? 0 };
      if (rc === 0) return { kind: 'running' };
      // ECHILD: not our child (any more), e.g. reaped already or reparented elsewhere.
      return { kind: 'not-a-child' };
    },
    setChildSubreaper() {
      if (!prctl) throw new Error(`prctl(PR_SET_CHILD_SUBREAPER) does not exist on ${process.platform}`);
      if ((prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) as number) !== 0) {
        throw new Error(`prctl(PR_SET_CHILD_SUBREAPER) failed: errno ${errno()}`);
      }
    },
    clockTicksPerSecond: () => Number(sysconf(SC_CLK_TCK)),
    pageBytes: () => Number(sysconf(SC_PAGESIZE)),
  };
}
