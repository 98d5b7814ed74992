// Wiring only: reads the options, makes the logger, decides where pids come from, runs the init.
import { constants } from 'node:os';
import { detectCgroupDirs } from '../cgroup/detect.js';
import { newGuardStats } from '../guard/guard-stats.js';
import { setupGuard } from '../guard/setup-guard.js';
import { newInitStats } from '../init/init-stats.js';
import { askForParentDeathSignal } from '../init/parent-death.js';
import { runInit } from '../init/run-init.js';
import type { SignalInbox } from '../init/signal-inbox.js';
import { createLogger } from '../log.js';
import { detectProcSource } from '../proc/proc-source.js';
import { reporterOf } from '../report/reporter.js';
import { loadLibc } from '../sys/libc.js';
import { parseArgs } from './options.js';

declare const METAMCP_INIT_VERSION: string;

/**
 * Runs the init with signals caught since start-up in `inbox` and the parent it started with;
 * resolves to the exit status.
 */
export async function runMain(inbox: SignalInbox, parentPidAtStart = process.ppid): Promise<number> {
  const output = { writeOut: (text: string) => process.stdout.write(text), writeErr: (text: string) => process.stderr.write(text) };
  // `metamcp-init status` asks a running init; a program named `status` runs as `-- status`.
  if (process.argv[2] === 'status') {
    // Interrupted, it ends at once as a shell command does (the inbox holds every signal).
    inbox.deliverTo((signal) => {
      if (signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP') process.exit(128 + constants.signals[signal]);
    });
    return (await import('./run-status.js')).runStatus(process.argv.slice(3), process.env, output);
  }
  const parsed = parseArgs(process.argv.slice(2), process.env, output, METAMCP_INIT_VERSION);
  if (parsed.kind === 'exit') return parsed.exitCode;
  const { config } = parsed;
  const log = createLogger(config.logLevel, config.logFormat);
  // PID 1 must never crash: if it dies, the kernel kills the whole container with it.
  process.on('uncaughtException', (error) => log.error({ err: error }, 'uncaught exception; carrying on'));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection; carrying on'));
  const libc = loadLibc();
  if (config.parentDeathSignal) askForParentDeathSignal(config.parentDeathSignal, parentPidAtStart, libc, log);
  const procSource = detectProcSource();
  const cgroupDirs = detectCgroupDirs();
  const initStats = newInitStats();
  const guardStats = newGuardStats();
  const startGuard = setupGuard(config, log, libc, { procSource, cgroupDirs, stats: guardStats });
  // Loaded only when asked for: node:http and the report cost memory at every start.
  const server = config.metricsListen
    ? await (await import('../report/report-server.js')).startReportServer({
        listen: config.metricsListen,
        log,
        report: reporterOf({ version: METAMCP_INIT_VERSION, init: initStats, guard: guardStats, cgroupDirs, pidsMax: config.pidsMax }),
      })
    : undefined;
  try {
    return await runInit(config, log, libc, { inbox, procSource, startGuard, stats: initStats });
  } finally {
    server?.stop();
  }
}
