// Wiring only: reads the options, makes the logger, decides where pids come from, runs the init.
import { setupGuard } from '../guard/setup-guard.js';
import { runInit } from '../init/run-init.js';
import type { SignalInbox } from '../init/signal-inbox.js';
import { createLogger } from '../log.js';
import { procSourceOfThisProcess } from '../proc/proc-source.js';
import { loadLibc } from '../sys/libc.js';
import { parseArgs } from './options.js';

declare const METAMCP_INIT_VERSION: string;

/** Runs the init with signals caught since start-up in `inbox`; resolves to the exit status. */
export async function runMain(inbox: SignalInbox): Promise<number> {
  const parsed = parseArgs(
    process.argv.slice(2),
    process.env,
    {
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    },
    METAMCP_INIT_VERSION,
  );
  if (parsed.kind === 'exit') return parsed.exitCode;
  const { config } = parsed;
  const log = createLogger(config.logLevel, config.logFormat);
  // PID 1 must never crash: if it dies, the kernel kills the whole container with it.
  process.on('uncaughtException', (error) => log.error({ err: error }, 'uncaught exception; carrying on'));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection; carrying on'));
  const libc = loadLibc();
  const procSource = procSourceOfThisProcess();
  return runInit(config, log, libc, { inbox, procSource, startGuard: setupGuard(config, log, libc, procSource) });
}
