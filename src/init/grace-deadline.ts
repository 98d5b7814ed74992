/**
 * The end of the grace period. A TERM/INT starts it; so does the main child exiting on its
 * own. A second TERM/INT while it runs ends it at once, as an impatient operator expects.
 */
export class GraceDeadline {
  readonly reached: Promise<void>;
  #reach!: () => void;
  #atMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #signals = 0;

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.reached = new Promise((resolve) => (this.#reach = resolve));
  }

  /** A shutdown signal arrived: start the grace, or cut it short if a signal already started it. */
  onShutdownSignal(): 'started' | 'cut' | 'over' {
    this.#signals += 1;
    if (this.isOver()) return 'over';
    if (this.#signals > 1) {
      this.#end();
      return 'cut';
    }
    this.start();
    return 'started';
  }

  /** Starts the grace unless it runs already. */
  start(): void {
    if (this.#atMs !== undefined) return;
    this.#atMs = this.now() + this.graceMs;
    this.#timer = setTimeout(() => this.#end(), this.graceMs);
  }

  isOver(): boolean {
    return this.#atMs !== undefined && this.now() >= this.#atMs;
  }

  /** Milliseconds left, or undefined while no grace runs. */
  remainingMs(): number | undefined {
    return this.#atMs === undefined ? undefined : Math.max(0, this.#atMs - this.now());
  }

  #end(): void {
    clearTimeout(this.#timer);
    this.#atMs = Math.min(this.#atMs ?? Infinity, this.now());
    this.#reach();
  }
}
