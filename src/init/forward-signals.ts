import type { MainChild } from './spawn-child.js';

/** What became of a forwarded signal. */
export type ForwardOutcome = 'sent' | 'gone';

/**
 * Sends a signal to the main child, or with `group` to its process group (the child leads
 * its own group). Only while the child runs: until libuv reaps it, its pid (and so its
 * group id) cannot belong to anyone else; once reaped, the pid may be reused, and nothing
 * is sent. ESRCH is expected when the child is exiting: a warning, not an error.
 */
export function forwardSignal(child: MainChild, signal: NodeJS.Signals, group: boolean): ForwardOutcome {
  if (!child.isRunning()) return 'gone';
  try {
    process.kill(group ? -child.pid : child.pid, signal);
    return 'sent';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
    throw error;
  }
}
