import type { Logger } from 'pino';
import type { Libc } from '../sys/libc.js';
import { exitCodeForSpawnError, exitCodeOf, type ChildExit } from './exit-code.js';
import { catchForwardedSignals, forwardSignal } from './forward-signals.js';
import { GraceDeadline } from './grace-deadline.js';
import { reapZombies } from './reap-zombies.js';
import { isShutdownSignal } from './signals.js';
import { isSpawnFailure, spawnChild } from './spawn-child.js';
import { stopRemaining } from './stop-remaining.js';
import { registerSubreaper } from './subreaper.js';
import { hasProcFs } from '../proc/has-proc-fs.js';
import { countOwnTasks, startThreadpoolNow } from './task-budget.js';

/** Starts whatever watches over the main child's processes (the guard); the init only stops it. */
export type GuardStarter = (mainPid: number) => { stop: () => void };

/** What the init needs to know to run. */
export type InitConfig = {
  command: readonly string[];
  graceMs: number;
  /** Forward signals to the child's process group rather than the child alone. */
  group: boolean;
  reapIntervalMs: number;
};

/**
 * The whole PID-1 lifecycle, read top to bottom as tini's main: reserve our tasks,
 * become a subreaper, spawn, start the guard, then forward signals and reap zombies until
 * the child exits, stop what is left, and return the child's exit status.
 */
export async function runInit(config: InitConfig, log: Logger, libc: Libc, startGuard?: GuardStarter): Promise<number> {
  const initPid = process.pid;
  await startThreadpoolNow();
  // Without /proc (a developer's macOS) there is no PID 1 to play and nothing to reap by pid.
  const procFs = hasProcFs();
  const subreaper = procFs && registerSubreaper(initPid, libc);

  let mainPid: number | undefined;
  let reapedTotal = 0;
  const reap = () => {
    if (!procFs) return;
    const reaped = reapZombies({ initPid, libc, isOwnedByLibuv: (pid) => pid === mainPid });
    reapedTotal += reaped.length;
    if (reaped.length > 0) log.debug({ count: reaped.length, pids: reaped.slice(0, 20).map((r) => r.pid) }, 'reaped zombies');
  };
  // SIGCHLD coalesces (one may stand for many exits), so a periodic sweep backs it up.
  const onChild = () => runGuarded(log, 'reap', reap);
  process.on('SIGCHLD', onChild);
  const sweep = setInterval(onChild, config.reapIntervalMs);

  const child = await spawnChild(config.command);
  if (isSpawnFailure(child)) {
    const exitCode = exitCodeForSpawnError(child.errorCode);
    log.error({ command: config.command[0], errorCode: child.errorCode, exitCode },
      `cannot run ${config.command[0]}: ${exitCode === 127 ? 'command not found' : 'permission denied or not executable'}`);
    return exitCode;
  }
  mainPid = child.pid;
  log.info({ childPid: child.pid, command: config.command, initPid, subreaper, initTasks: countOwnTasks() }, 'started main child');

  const guard = startGuard?.(child.pid);

  const deadline = new GraceDeadline(config.graceMs);
  let childRunning = true;
  const uncatch = catchForwardedSignals((signal) => runGuarded(log, 'signal', () => {
    if (childRunning) {
      const outcome = forwardSignal(child.pid, signal, config.group);
      log.debug({ signal, childPid: child.pid, group: config.group, outcome }, 'forwarded signal');
    }
    if (isShutdownSignal(signal)) {
      const grace = deadline.onShutdownSignal();
      if (grace === 'started') log.info({ signal, graceMs: config.graceMs }, 'shutting down: grace period started');
      if (grace === 'cut') log.warn({ signal }, 'second shutdown signal: killing everything now');
    }
  }));

  const ended = await Promise.race([child.exited, deadline.reached.then(() => undefined)]);
  guard?.stop();
  if (ended) childRunning = false;
  else log.warn({ childPid: child.pid, graceMs: config.graceMs }, 'grace period over: killing every remaining process');
  deadline.start();

  const summary = await stopRemaining({ initPid, deadline, reap, log });
  const exit: ChildExit = ended ?? (await child.exited);
  childRunning = false;
  uncatch();
  clearInterval(sweep);
  process.off('SIGCHLD', onChild);
  reap();
  const exitCode = exitCodeOf(exit);
  log.info({ ...exit, exitCode, ...summary, reaped: reapedTotal }, 'main child exited; nothing left, exiting');
  return exitCode;
}

/** PID 1 must never crash: an unexpected error in one step is logged and the loop goes on. */
function runGuarded(log: Logger, step: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    log.error({ err: error, step }, 'unexpected error; carrying on');
  }
}
