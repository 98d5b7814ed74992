import { constants } from 'node:os';
import type { Logger } from 'pino';
import type { Libc } from '../sys/libc.js';

/**
 * Asks the kernel for `signal` when the init's parent dies (tini's -p): under `npx
 * metamcp-init`, a killed npm exec then stops the init, its child and the MCP servers, as a
 * TERM would, rather than leaving them to run on their own. A parent that died before the
 * request sends nothing, so that case is checked against the parent the init started with,
 * and the signal is sent by the init to itself.
 */
export function askForParentDeathSignal(signal: NodeJS.Signals, parentPidAtStart: number, libc: Libc, log: Logger): void {
  try {
    libc.setParentDeathSignal(constants.signals[signal]);
  } catch (error) {
    log.warn({ err: error, signal }, 'cannot ask for a signal at the death of the parent; going on without');
    return;
  }
  if (process.ppid !== parentPidAtStart) {
    log.warn({ signal, parentPidAtStart }, 'the parent died before the init started: sending the parent-death signal now');
    process.kill(process.pid, signal);
  }
}
