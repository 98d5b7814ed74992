// Closing an MCP server's input: the stdio transport's own way to end a server (the MCP
// specification has the client close the server's stdin, wait, then TERM, then KILL), which
// the app counts as no crash since the server exits 0 on its own. The app spawned the
// launcher with stdin on a socket (Node's stdio 'pipe' is a socketpair, so /proc/PID/fd/0
// cannot be opened: ENXIO), and the launcher's shell and server inherit that one socket. A
// copy of the launcher's fd 0 (pidfd_getfd) and shutdown(SHUT_RD) on the copy end the stream
// for every holder: the server reads EOF. Nothing is read or written, no port is opened, and
// the copy is closed in the same call.
import { type Dir, opendirSync, readlinkSync } from 'node:fs';
import type { Pidfds } from '../sys/libc.js';
import { readStat } from './read-proc.js';
import { isStillRunning, type ProcAccess } from './signal-proc.js';
import type { ProcRef } from './snapshot.js';

/** Whether this init may copy another process's fd at all, as its start-up probe found. */
export type StdinCloseGrant = { available: true } | { available: false; why: string };

const ERRNO = { EPERM: 1, ESRCH: 3, EBADF: 9, ENOSYS: 38, ENOTSOCK: 88 } as const;

/**
 * Probes pidfd_getfd on the init itself: a seccomp filter (Docker's default profile allows it
 * only with CAP_SYS_PTRACE) or a kernel before 5.6 refuses it for every target alike. Whether
 * the kernel lets the init reach one launcher (ptrace access: the same uid, or CAP_SYS_PTRACE)
 * shows at the first stop.
 */
export function probeStdinClose(pidfds: Pidfds | undefined): StdinCloseGrant {
  if (!pidfds) return { available: false, why: 'no pidfds (Linux before 5.3, or pidfd_open refused)' };
  const self = pidfds.open(process.pid);
  if ('errno' in self) return { available: false, why: `pidfd_open refused (errno ${self.errno})` };
  try {
    const copy = pidfds.copyFd(self.fd, self.fd);
    if ('fd' in copy) {
      pidfds.close(copy.fd);
      return { available: true };
    }
    if (copy.errno === ERRNO.ENOSYS)
      return { available: false, why: 'pidfd_getfd is not in this kernel (Linux before 5.6) or a seccomp filter hides it (ENOSYS)' };
    if (copy.errno === ERRNO.EPERM)
      return {
        available: false,
        why: 'pidfd_getfd refused (EPERM): a seccomp filter forbids it (Docker allows it with CAP_SYS_PTRACE or a profile that adds it)',
      };
    return { available: false, why: `pidfd_getfd failed (errno ${copy.errno})` };
  } finally {
    pidfds.close(self.fd);
  }
}

/** What the fd 0 link of a process says, `socket:[INODE]` or another kind, or undefined when it has none (or is gone). */
export function stdinLinkOf(pid: number, procRoot: string): string | undefined {
  return readLink(`${procRoot}/${pid}/fd/0`);
}

/** Whether the process reads its stdin from a socket: the only kind a shutdown ends for every holder. */
export function hasSocketStdin(pid: number, procRoot: string): boolean {
  return isSocketLink(stdinLinkOf(pid, procRoot));
}

function isSocketLink(link: string | undefined): link is string {
  return link !== undefined && /^socket:\[\d+\]$/.test(link);
}

/**
 * How a close ended: `closed` (the shutdown was made); `not-a-socket` (fd 0 is not a unix
 * socket: a pipe, a file, a terminal, a TCP socket, or none; a shutdown would end nothing, or
 * is not the guard's to make); `shared` (a process on the way from the
 * init to the launcher holds the same socket, so it is the app's own input, or there were too
 * many fds to tell); `refused` (the kernel refused the copy: no ptrace access, or seccomp);
 * `gone` (the launcher is not the recorded process any more).
 */
export type StdinCloseAnswer = 'closed' | 'not-a-socket' | 'shared' | 'refused' | 'gone';

/** Most fds of one ancestor read to tell whether it holds the socket; beyond, the socket counts as shared. */
const MAX_FDS_READ = 4096;
/** Most ancestors walked from the launcher up to the init. */
const MAX_ANCESTORS = 32;

/**
 * Shuts down the read side of the launcher's stdin socket, once: never when the socket is also
 * held by the launcher's ancestors (the app, the main child, the init), never on a process that
 * took the recorded pid. The copy of the fd lives only inside this call.
 */
export function closeStdinOf(launcher: ProcRef, access: ProcAccess): { answer: StdinCloseAnswer; errno?: number } {
  const { source, pidfds } = access;
  if (source.kind !== 'own' || !pidfds) return { answer: 'refused' };
  const procRoot = source.root;
  const link = stdinLinkOf(launcher.pid, procRoot);
  if (!isStillRunning(launcher, source)) return { answer: 'gone' };
  if (!isSocketLink(link)) return { answer: 'not-a-socket' };
  if (isHeldByAncestors(launcher.pid, link, procRoot)) return { answer: 'shared' };
  const opened = pidfds.open(launcher.pid);
  if ('errno' in opened) return opened.errno === ERRNO.ESRCH ? { answer: 'gone' } : { answer: 'refused', errno: opened.errno };
  try {
    // The pidfd holds the process it was opened on: checked once more, a reused pid is never reached.
    if (!isStillRunning(launcher, source)) return { answer: 'gone' };
    const copy = pidfds.copyFd(opened.fd, 0);
    if ('errno' in copy) {
      if (copy.errno === ERRNO.ESRCH) return { answer: 'gone' };
      if (copy.errno === ERRNO.EBADF) return { answer: 'not-a-socket' };
      return { answer: 'refused', errno: copy.errno };
    }
    try {
      // fd 0 could have been replaced since the link was read: shut down only the socket checked,
      // and only a unix socket (Node's stdio pipes are socketpairs). The copy may be the last
      // reference to what it holds: the close of a TCP socket with SO_LINGER set would block PID 1
      // until the peer drains it, so that is turned off first.
      if (linkOfOwnFd(copy.fd, procRoot) !== link || !pidfds.isUnixSocket(copy.fd)) {
        pidfds.disarmLinger(copy.fd);
        return { answer: 'not-a-socket' };
      }
      const errno = pidfds.shutdownRead(copy.fd);
      if (errno === 0) return { answer: 'closed' };
      return errno === ERRNO.ENOTSOCK ? { answer: 'not-a-socket' } : { answer: 'refused', errno };
    } finally {
      pidfds.close(copy.fd);
    }
  } finally {
    pidfds.close(opened.fd);
  }
}

function linkOfOwnFd(fd: number, procRoot: string): string | undefined {
  return readLink(`${procRoot}/${process.pid}/fd/${fd}`);
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    // Closed meanwhile, or the process is gone.
    return undefined;
  }
}

/**
 * Whether a process on the way from the launcher up to the init (its parent, the app, the main
 * child, the init) holds the same socket: then the launcher was given the app's own input
 * (stdio 'inherit'), and ending it would end the app's.
 */
function isHeldByAncestors(pid: number, link: string, procRoot: string): boolean {
  const seen = new Set<number>([pid]);
  for (let parent = readStat(pid, procRoot)?.ppid; parent !== undefined && parent > 0 && !seen.has(parent); ) {
    if (seen.size > MAX_ANCESTORS) return true;
    seen.add(parent);
    if (holdsLink(parent, link, procRoot)) return true;
    if (parent === process.pid) return false;
    parent = readStat(parent, procRoot)?.ppid;
  }
  return false;
}

function holdsLink(pid: number, link: string, procRoot: string): boolean {
  let dir: Dir;
  try {
    dir = opendirSync(`${procRoot}/${pid}/fd`);
  } catch {
    // Gone, or not ours to read: nothing of it can be told, so it may hold the socket.
    return readStat(pid, procRoot) !== undefined;
  }
  try {
    // Entry by entry: a process with a million fds is not listed whole on PID 1's loop.
    for (let read = 0, entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (++read > MAX_FDS_READ) return true;
      if (readLink(`${procRoot}/${pid}/fd/${entry.name}`) === link) return true;
    }
    return false;
  } finally {
    dir.closeSync();
  }
}
