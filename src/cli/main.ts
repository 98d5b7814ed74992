// Entry point: wiring only. Reads the options, makes the logger, runs the init, exits.
import { setupGuard } from '../guard/setup-guard.js';
import { runInit } from '../init/run-init.js';
import { createLogger } from '../log.js';
import { loadLibc } from '../sys/libc.js';
import { parseArgs } from './options.js';

declare const METAMCP_INIT_VERSION: string;

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2), process.env, {
    writeOut: (text) => process.stdout.write(text),
    writeErr: (text) => process.stderr.write(text),
  }, METAMCP_INIT_VERSION);
  if (parsed.kind === 'exit') return parsed.exitCode;
  const { config } = parsed;
  const log = createLogger(config.logLevel, config.logFormat);
  // PID 1 must never crash: if it dies, the kernel kills the whole container with it.
  process.on('uncaughtException', (error) => log.error({ err: error }, 'uncaught exception; carrying on'));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection; carrying on'));
  const libc = loadLibc();
  return runInit(config, log, libc, setupGuard(config, log, libc));
}

main().then(
  (exitCode) => process.exit(exitCode),
  (error: unknown) => {
    process.stderr.write(`metamcp-init: cannot start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
