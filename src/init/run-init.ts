import type { Logger } from 'pino';
import type { ProcSource } from '../proc/proc-source.js';
import { publishedCommand, publishedProgramName } from '../proc/published-command.js';
import { redactArgv } from '../proc/redact-command-line.js';
import type { Libc } from '../sys/libc.js';
import { type ChildExit, exitCodeForSpawnError, exitCodeOf, remapExitCode } from './exit-code.js';
import { forwardSignal } from './forward-signals.js';
import { GraceDeadline } from './grace-deadline.js';
import { type InitStats, newInitStats } from './init-stats.js';
import { reapZombies, reapZombiesWithoutProc } from './reap-zombies.js';
import type { SignalInbox } from './signal-inbox.js';
import { isShutdownSignal, rewriteSignal, type SignalRewrite } from './signals.js';
import { isSpawnFailure, spawnChild } from './spawn-child.js';
import { stopChildGroup, stopRemaining } from './stop-remaining.js';
import { registerSubreaper } from './subreaper.js';
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
  /** Log the main child's whole command line, masked (--show-command-lines), not only its program and script. */
  showCommandLines?: boolean;
  /** Exit statuses of the main child that the init exits 0 for (--remap-exit). */
  remapExitCodes?: readonly number[];
  /** Signals forwarded as others, or dropped (--rewrite). */
  rewrites?: readonly SignalRewrite[];
};

/** What the init is given besides its config, all decided at start-up. */
export type InitContext = {
  /** Signals caught since start-up, held until the child exists. */
  inbox: SignalInbox;
  /** Whether pids read from /proc are the init's own. */
  procSource: ProcSource;
  startGuard?: GuardStarter;
  /** Where the init counts what it does, for the report; its own when not given. */
  stats?: InitStats;
};

/**
 * The whole PID-1 lifecycle, read top to bottom as tini's main: reserve our tasks,
 * become a subreaper, spawn, start the guard, then forward signals and reap zombies until
 * the child exits, stop what is left, and return the child's exit status.
 */
export async function runInit(
  config: InitConfig,
  log: Logger,
  libc: Libc,
  { inbox, procSource, startGuard, stats = newInitStats() }: InitContext,
): Promise<number> {
  const initPid = process.pid;
  await startThreadpoolNow();
  // A /proc of another pid namespace names strangers: no pid read from it is used.
  if (procSource.kind === 'foreign') {
    log.warn(
      { initPid, procSelfPid: procSource.selfPid },
      "/proc belongs to another pid namespace: no reaping by /proc scan, no guard; at exit only the main child's process group is stopped",
    );
  }
  // Without /proc (a developer's macOS) there is no PID 1 to play and nothing to reap by pid.
  const subreaper = procSource.kind !== 'none' && registerSubreaper(initPid, libc);

  let child: Awaited<ReturnType<typeof spawnChild>> | undefined;
  // libuv reaps the main child itself, and only while it runs is the pid its own.
  const isOwnedByLibuv = (pid: number) => child !== undefined && !isSpawnFailure(child) && pid === child.pid && child.isRunning();
  const reap = () => {
    if (procSource.kind === 'none') return;
    const reaped =
      procSource.kind === 'own' ? reapZombies({ initPid, libc, isOwnedByLibuv, procRoot: procSource.root }) : reapZombiesWithoutProc({ libc, isOwnedByLibuv });
    stats.zombiesReaped += reaped.length;
    if (reaped.length > 0) log.debug({ count: reaped.length, pids: reaped.slice(0, 20).map((r) => r.pid) }, 'reaped zombies');
  };
  // SIGCHLD coalesces (one may stand for many exits), so a periodic sweep backs it up.
  const onChild = () => runGuarded(log, 'reap', reap);
  process.on('SIGCHLD', onChild);
  const sweep = setInterval(onChild, config.reapIntervalMs);

  child = await spawnChild(config.command);
  if (isSpawnFailure(child)) {
    const exitCode = exitCodeForSpawnError(child.errorCode);
    log.error(
      { command: notRun(config.command[0]!), errorCode: child.errorCode, exitCode },
      `cannot run ${notRun(config.command[0]!)}: ${exitCode === 127 ? 'command not found' : 'permission denied or not executable'}`,
    );
    return exitCode;
  }
  const main = child;
  stats.mainChild = { pid: main.pid, running: true };
  void main.exited.then((exit) => (stats.mainChild = { pid: main.pid, running: false, exitCode: exitCodeOf(exit) }));
  // Its program and script only, unless the operator asks for the whole line (masked).
  const command = config.showCommandLines ? redactArgv(config.command) : publishedCommand(config.command);
  log.info({ childPid: main.pid, command, initPid, subreaper, initTasks: countOwnTasks() }, 'started main child');

  const guard = startGuard?.(main.pid);

  const deadline = new GraceDeadline(config.graceMs);
  // Signals that came before the child existed are delivered first, in order.
  inbox.deliverTo((signal) =>
    runGuarded(log, 'signal', () => {
      const sent = rewriteSignal(signal, config.rewrites ?? []);
      // A signal rewritten to 0 is dropped: neither forwarded nor a shutdown.
      if (sent === null) {
        log.debug({ signal }, 'dropped signal (--rewrite)');
        return;
      }
      const outcome = forwardSignal(main, sent, config.group);
      if (outcome === 'sent') stats.signalsForwarded.set(sent, (stats.signalsForwarded.get(sent) ?? 0) + 1);
      log.debug({ signal, ...(sent !== signal && { sentAs: sent }), childPid: main.pid, group: config.group, outcome }, 'forwarded signal');
      // What the init does itself follows the signal it received: TERM from docker stop still
      // starts the grace period when the child gets QUIT.
      if (isShutdownSignal(signal)) {
        stats.shuttingDown = true;
        const grace = deadline.onShutdownSignal();
        if (grace === 'started') log.info({ signal, graceMs: config.graceMs }, 'shutting down: grace period started');
        if (grace === 'cut') log.warn({ signal }, 'second shutdown signal: killing everything now');
      }
    }),
  );

  const ended = await Promise.race([main.exited, deadline.reached.then(() => undefined)]);
  guard?.stop();
  if (!ended) log.warn({ childPid: main.pid, graceMs: config.graceMs }, 'grace period over: killing every remaining process');
  deadline.start();

  const summary =
    procSource.kind === 'foreign'
      ? await stopChildGroup({ pgid: main.pid, deadline, reap, log })
      : await stopRemaining({ initPid, deadline, reap, log, access: { source: procSource, pidfds: libc.pidfds } });
  const exit: ChildExit = ended ?? (await main.exited);
  inbox.hold();
  clearInterval(sweep);
  process.off('SIGCHLD', onChild);
  reap();
  const childExitCode = exitCodeOf(exit);
  const exitCode = remapExitCode(childExitCode, config.remapExitCodes ?? []);
  if (exitCode !== childExitCode) log.info({ childExitCode }, `remapping the main child's exit status ${childExitCode} to 0 (--remap-exit)`);
  if (summary.left === 0) log.info({ ...exit, exitCode, ...summary, reaped: stats.zombiesReaped }, 'main child exited; nothing left, exiting');
  else
    log.warn(
      { ...exit, exitCode, ...summary, reaped: stats.zombiesReaped },
      `main child exited; ${summary.left} processes would not go (another user's, or stuck in the kernel), exiting`,
    );
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

/**
 * The program that could not be run, as the message names it: as given where it is a plain
 * name or path, else as published (`npx -y @pkg --api-key …` given as one word would name a
 * secret).
 */
function notRun(program: string): string {
  return /^[A-Za-z0-9._+/-]{1,256}$/.test(program) && publishedProgramName(program) !== '?' ? program : publishedCommand([program]);
}
