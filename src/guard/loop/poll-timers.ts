// The guard loop's timers. While the namespace forks, every tick first looks at the app's
// children and comes every WATCH_MS: pids.current is read as often, as tasks grow only by
// forks. Once nothing forks, the watch goes on alone on its own timer, in one synchronous
// step (a wake of Node is most of its cost then), the limits on their own cadence; the first
// fork it sees brings the ticks back at once.
import { QUIET_WATCH_MS, WATCH_MS } from './child-watch.js';
import type { GuardLoop } from './loop-parts.js';
import { nextWaitMs, pollLimits } from './poll-limits.js';

/** While scans keep failing, one is logged this often. */
const ERROR_REPEAT_MS = 60_000;

export class PollTimers {
  private timer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking = false;
  private lastErrorLoggedMs = -Infinity;

  constructor(
    private readonly loop: GuardLoop,
    private readonly scan: () => Promise<void>,
  ) {}

  start(): void {
    this.tickNow();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchTimer);
    this.loop.watch?.close();
  }

  private tickNow(watchPolled = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    if (!watchPolled) this.pollWatch(Date.now());
    void this.tick().finally(() => {
      this.ticking = false;
      if (!this.stopped) this.scheduleTick();
    });
  }

  private scheduleTick(): void {
    const { watch } = this.loop;
    const waitMs = nextWaitMs(this.loop);
    const forking = watch?.isForking(Date.now()) ?? false;
    this.timer = setTimeout(() => this.tickNow(), forking ? Math.min(waitMs, WATCH_MS) : waitMs);
    if (watch && !forking && this.watchTimer === undefined) this.watchTimer = setTimeout(() => this.watchAlone(), QUIET_WATCH_MS);
  }

  private watchAlone(): void {
    this.watchTimer = undefined;
    const { watch } = this.loop;
    if (!watch || this.stopped) return;
    const nowMs = Date.now();
    if (this.pollWatch(nowMs)) this.tickNow(true);
    else this.watchTimer = setTimeout(() => this.watchAlone(), watch.nextPollMs(nowMs));
  }

  private pollWatch(nowMs: number): boolean {
    try {
      return this.loop.watch?.poll(nowMs) ?? false;
    } catch (error) {
      const { stats } = this.loop.options;
      stats.scanErrors += 1;
      stats.lastScanError = `child watch: ${error instanceof Error ? error.message : String(error)}`;
      return false;
    }
  }

  private async tick(): Promise<void> {
    try {
      if (pollLimits(this.loop)) await this.scan();
    } catch (error) {
      this.scanFailed(error);
    }
  }

  // The guard must never take PID 1 down: log and try again at the next tick. Failures
  // that go on are said once a minute, with how many there were, not at every tick.
  private scanFailed(error: unknown): void {
    const { stats, log } = this.loop.options;
    const nowMs = Date.now();
    stats.scanErrors += 1;
    stats.lastScanError = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
    if (nowMs - this.lastErrorLoggedMs >= ERROR_REPEAT_MS) {
      log.error({ err: error, failedScans: stats.scanErrors }, 'guard scan failed; carrying on');
      this.lastErrorLoggedMs = nowMs;
    }
  }
}
