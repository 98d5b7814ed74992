import { FORWARDED_SIGNALS } from './signals.js';

/** Calls `onSignal` for every signal the init forwards; returns a function that uninstalls them. */
export function catchForwardedSignals(onSignal: (signal: NodeJS.Signals) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => onSignal(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** What became of a forwarded signal. */
export type ForwardOutcome = 'sent' | 'gone';

/**
 * Sends a signal to the main child, or with `group` to its process group (the child
 * leads its own group). ESRCH is expected when the child is exiting: a warning, not an error.
 */
export function forwardSignal(childPid: number, signal: NodeJS.Signals, group: boolean): ForwardOutcome {
  try {
    process.kill(group ? -childPid : childPid, signal);
    return 'sent';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
    throw error;
  }
}
