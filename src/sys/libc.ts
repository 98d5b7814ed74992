// The only native edge: waitpid, prctl, pidfds and shutdown through koffi. Node has none of
// them, and libuv's own waitpid covers only the children it spawned (docs/facts.md).
import type * as Koffi from 'koffi';

const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const P_ALL = 0;
// siginfo_t is 128 bytes; si_pid follows si_signo, si_errno, si_code and padding on 64-bit Linux.
const SIGINFO_BYTES = 128;
const SIGINFO_PID_OFFSET = 16;
// Syscall numbers, the same on x86-64 and arm64 (asm-generic/unistd.h): Linux 5.3 and later.
const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;
// Linux 5.6 and later.
const SYS_PIDFD_GETFD = 438;
const SHUT_RD = 0;
const SOL_SOCKET = 1;
const SO_LINGER = 13;
const SO_DOMAIN = 39;
const AF_UNIX = 1;
const PR_SET_CHILD_SUBREAPER = 36;
const PR_SET_PDEATHSIG = 1;
// sysconf names, the same in glibc and musl.
const SC_CLK_TCK = 2;
const SC_PAGESIZE = 30;

/** What waitpid reported for one pid. */
export type WaitResult = { kind: 'running' } | { kind: 'reaped'; status: number } | { kind: 'not-a-child' };

/** pidfds: a handle on one process that a reused pid can never alias (Linux 5.3+). */
export type Pidfds = {
  /** pidfd_open(pid): an fd, or the errno (ESRCH: no such process). */
  open(pid: number): { fd: number } | { errno: number };
  /** pidfd_send_signal(fd, signal): 0, or the errno (ESRCH: it has exited). */
  sendSignal(fd: number, signal: number): number;
  /**
   * pidfd_getfd(fd, targetFd): a copy (close-on-exec) of one of the process's file
   * descriptors, or the errno: EPERM where ptrace access or a seccomp filter forbids it,
   * ENOSYS before Linux 5.6, EBADF when it has no such fd, ESRCH when it has exited.
   */
  copyFd(fd: number, targetFd: number): { fd: number } | { errno: number };
  /** shutdown(fd, SHUT_RD): 0, or the errno (ENOTSOCK for a pipe or a file). */
  shutdownRead(fd: number): number;
  /** getsockopt(SO_DOMAIN) is AF_UNIX: a socket whose release never waits (no linger, no peer to drain to). */
  isUnixSocket(fd: number): boolean;
  /** setsockopt(SO_LINGER, off): a close of this socket returns at once, whatever its owner set. */
  disarmLinger(fd: number): void;
  close(fd: number): void;
};

/** The syscalls the init needs that Node does not offer. */
export type Libc = {
  /**
   * The pid of one exited child still waiting to be reaped, without reaping it (waitid with
   * WNOWAIT), or undefined: finds zombies without reading /proc.
   */
  peekExitedChild(): number | undefined;
  /** pidfds, or undefined where the kernel lacks them (ENOSYS) or the system is not Linux. */
  pidfds: Pidfds | undefined;
  /** waitpid(pid, WNOHANG) on one pid; never -1, which would steal libuv's child. */
  waitPidNoHang(pid: number): WaitResult;
  /** prctl(PR_SET_CHILD_SUBREAPER, 1): orphans of our descendants come to us. */
  setChildSubreaper(): void;
  /** prctl(PR_SET_PDEATHSIG, signal): the kernel sends us `signal` when our parent dies. */
  setParentDeathSignal(signal: number): void;
  /** Clock ticks per second: the unit of start times and CPU times in /proc/PID/stat. */
  clockTicksPerSecond(): number;
  /** Bytes per page: the unit of RSS in /proc/PID/stat (4 KiB, or 16/64 KiB on some arm64). */
  pageBytes(): number;
};

let loaded: Libc | undefined;

/** Loads libc through koffi once; null libc resolves to glibc or musl alike. */
export function loadLibc(): Libc {
  loaded ??= bindLibc();
  return loaded;
}

function bindLibc(): Libc {
  // Required lazily so that `--help` and usage errors work without the binding.
  const koffi = require('koffi') as typeof Koffi;
  const lib = koffi.load(null as unknown as string);
  const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
  const sysconf = lib.func('long sysconf(int name)');
  // Linux only: macOS has no prctl (and needs no subreaper: the init never runs as PID 1 there).
  const prctl =
    process.platform === 'linux' ? lib.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)') : undefined;
  const waitid = lib.func('int waitid(int idtype, int id, _Out_ uint8_t *infop, int options)');
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
    setParentDeathSignal(signal) {
      if (!prctl) throw new Error(`prctl(PR_SET_PDEATHSIG) does not exist on ${process.platform}`);
      if ((prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0) as number) !== 0) throw new Error(`prctl(PR_SET_PDEATHSIG) failed: errno ${errno()}`);
    },
    peekExitedChild() {
      const info = Buffer.alloc(SIGINFO_BYTES);
      if ((waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) as number) !== 0) return undefined;
      const pid = info.readInt32LE(SIGINFO_PID_OFFSET);
      return pid > 0 ? pid : undefined;
    },
    pidfds: process.platform === 'linux' ? bindPidfds(koffi, lib) : undefined,
    clockTicksPerSecond: () => Number(sysconf(SC_CLK_TCK)),
    pageBytes: () => Number(sysconf(SC_PAGESIZE)),
  };
}

function bindPidfds(koffi: typeof Koffi, lib: Koffi.LibraryHandle): Pidfds | undefined {
  // syscall(2) is variadic: each call names the types of the arguments after the first.
  const syscall = lib.func('long syscall(long number, ...)');
  const close = lib.func('int close(int fd)');
  const open = (pid: number) => {
    const fd = Number(syscall(SYS_PIDFD_OPEN, 'int', pid, 'unsigned int', 0));
    return fd >= 0 ? { fd } : { errno: koffi.errno() };
  };
  const shutdown = lib.func('int shutdown(int fd, int how)');
  const getsockopt = lib.func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *length)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, uint8_t *value, uint32_t length)');
  const probe = open(process.pid);
  // ENOSYS before Linux 5.3; EPERM or others under a seccomp filter: fall back alike.
  if ('errno' in probe) return undefined;
  close(probe.fd);
  return {
    open,
    sendSignal: (fd, signal) => (Number(syscall(SYS_PIDFD_SEND_SIGNAL, 'int', fd, 'int', signal, 'void *', null, 'unsigned int', 0)) === 0 ? 0 : koffi.errno()),
    copyFd: (fd, targetFd) => {
      const copy = Number(syscall(SYS_PIDFD_GETFD, 'int', fd, 'int', targetFd, 'unsigned int', 0));
      return copy >= 0 ? { fd: copy } : { errno: koffi.errno() };
    },
    shutdownRead: (fd) => ((shutdown(fd, SHUT_RD) as number) === 0 ? 0 : koffi.errno()),
    isUnixSocket: (fd) => {
      const value = Buffer.alloc(4);
      const length = [4];
      return (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, value, length) as number) === 0 && value.readInt32LE(0) === AF_UNIX;
    },
    // struct linger { int l_onoff; int l_linger; }, both 0.
    disarmLinger: (fd) => void setsockopt(fd, SOL_SOCKET, SO_LINGER, Buffer.alloc(8), 8),
    close: (fd) => void close(fd),
  };
}
