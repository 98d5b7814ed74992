// Which signals the init catches, and what it does with them.
import { constants } from 'node:os';

/**
 * Forwarded to the main child: every catchable signal, as tini forwards them, except
 * CHLD (ours), PIPE (raised by our own writes to a closed stderr, not meant for the child),
 * TTIN/TTOU (terminal job control aimed at us), the synchronous faults
 * (SEGV, BUS, FPE, ILL, TRAP, ABRT, SYS), which are not meant to be sent, and PROF, which
 * V8's sampling profiler sends to the init itself (`node --cpu-prof`): caught and forwarded,
 * it killed the child within a second and left the profiler without samples.
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

/**
 * The signals Node takes for itself when the init is started with them asked for, which the
 * init must then neither catch nor forward: `--heapsnapshot-signal=SIG`, and the report's
 * signal (`--report-signal`, USR2 by default) with `--report-on-signal`. Read from the init's
 * own node options: its execArgv and NODE_OPTIONS.
 */
export function runtimeSignals(execArgv: readonly string[], nodeOptions = ''): Set<NodeJS.Signals> {
  const words = [...execArgv, ...nodeOptions.split(/\s+/).filter(Boolean)];
  const flagValue = (flag: string) => {
    let value: string | undefined;
    words.forEach((word, i) => {
      if (word.startsWith(`${flag}=`)) value = word.slice(flag.length + 1);
      else if (word === flag && words[i + 1] !== undefined) value = words[i + 1];
    });
    return value;
  };
  const taken = new Set<NodeJS.Signals>();
  const heap = signalNamed(flagValue('--heapsnapshot-signal'));
  if (heap) taken.add(heap);
  if (words.includes('--report-on-signal')) taken.add(signalNamed(flagValue('--report-signal')) ?? 'SIGUSR2');
  return taken;
}

/** The signals the init catches and forwards, less those its runtime was asked to take. */
export function caughtSignals(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): NodeJS.Signals[] {
  const taken = runtimeSignals(execArgv, nodeOptions);
  return FORWARDED_SIGNALS.filter((signal) => !taken.has(signal));
}

/** A signal by name (TERM, SIGTERM, term) or number (15), or undefined when there is none such. */
export function signalNamed(value: string | undefined): NodeJS.Signals | undefined {
  if (value === undefined) return undefined;
  const word = value.trim().toUpperCase();
  if (/^\d+$/.test(word)) {
    const n = Number(word);
    return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === n);
  }
  const name = (word.startsWith('SIG') ? word : `SIG${word}`) as NodeJS.Signals;
  return name in constants.signals ? name : undefined;
}

/** A received signal forwarded as another, or dropped (`to` null), as dumb-init's --rewrite. */
export type SignalRewrite = { from: NodeJS.Signals; to: NodeJS.Signals | null };

/** What a received signal is forwarded as: itself, its rewrite, or null when dropped. */
export function rewriteSignal(signal: NodeJS.Signals, rewrites: readonly SignalRewrite[]): NodeJS.Signals | null {
  // The last rewrite of a signal wins, as a later flag wins over an earlier one.
  const rewrite = [...rewrites].reverse().find((r) => r.from === signal);
  return rewrite ? rewrite.to : signal;
}
