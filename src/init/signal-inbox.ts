import { caughtSignals } from './signals.js';

/**
 * Catches every forwarded signal from the init's first moments and holds what arrives
 * before the init can act on it (before the main child exists). As PID 1, a signal with no
 * handler is dropped by the kernel: a TERM in the first 0.3 s used to be lost (issue 8).
 * Create it before loading anything else; the handlers stay until the init exits.
 */
export class SignalInbox {
  readonly #held: NodeJS.Signals[] = [];
  #deliver: ((signal: NodeJS.Signals) => void) | undefined;

  constructor() {
    for (const signal of caughtSignals()) process.on(signal, () => this.#receive(signal));
  }

  /** Hands every signal to `deliver`: first those held, in order of arrival, then each as it comes. */
  deliverTo(deliver: (signal: NodeJS.Signals) => void): void {
    this.#deliver = deliver;
    for (const signal of this.#held.splice(0)) deliver(signal);
  }

  /** Holds signals again: nobody is left to take them. */
  hold(): void {
    this.#deliver = undefined;
  }

  #receive(signal: NodeJS.Signals): void {
    if (this.#deliver) this.#deliver(signal);
    else this.#held.push(signal);
  }
}
