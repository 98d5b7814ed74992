import type { Libc } from '../sys/libc.js';

/**
 * Makes orphans come to the init when it is not PID 1 (under `npx`, in a shell):
 * PR_SET_CHILD_SUBREAPER makes it the reaper of every descendant, like PID 1 is.
 * Returns whether it had to.
 */
export function registerSubreaper(pid: number, libc: Libc): boolean {
  if (pid === 1) return false;
  libc.setChildSubreaper();
  return true;
}
