// Which signals the init catches, and what it does with them.

/**
 * Forwarded to the main child: every catchable signal, as tini forwards them, except
 * CHLD (ours), PIPE (raised by our own writes to a closed stderr, not meant for the child),
 * TTIN/TTOU (terminal job control aimed at us) and the synchronous faults
 * (SEGV, BUS, FPE, ILL, TRAP, ABRT, SYS), which are not meant to be sent.
 * A signal with a default action does nothing to PID 1 unless a handler is installed.
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
  'SIGCONT',
  'SIGTSTP',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGURG',
  'SIGIO',
  'SIGPWR',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGSTKFLT',
];

/** Signals that start a graceful shutdown (docker stop sends TERM, Ctrl-C sends INT). */
export function isShutdownSignal(signal: NodeJS.Signals): boolean {
  return signal === 'SIGTERM' || signal === 'SIGINT';
}
