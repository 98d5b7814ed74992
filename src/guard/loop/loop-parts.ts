// What the guard loop is made of: what it was started with, the means it reads and signals
// through, and what it remembers between its polls and scans, the step's state among it.
import type { CgroupFigures } from '../../cgroup/figures.js';
import { publishedCommand } from '../../proc/published-command.js';
import { readStat } from '../../proc/read-proc.js';
import { redactCommandLine } from '../../proc/redact-command-line.js';
import type { ProcAccess } from '../../proc/signal-proc.js';
import type { Reading } from '../growth.js';
import type { GuardStats } from '../guard-stats.js';
import { type GuardState, INITIAL_GUARD_STATE } from '../step.js';
import { ChildWatch } from './child-watch.js';
import type { GuardLoopOptions } from './guard-loop-options.js';
import { MetaMcpSpotter } from './metamcp-spotter.js';
import { makeScanReader, type ScanReader } from './scan-reader.js';
import { StdinClosers } from './stdin-closers.js';

/** What the loop remembers between polls and scans. */
export type LoopState = {
  /** Every decision the guard remembers is here, and only the step changes it (and finishStop, as stops end). */
  guard: GuardState;
  pressed: boolean;
  /** What the last scan saw that the polls are timed by: the loop's own, apart from the stats it publishes. */
  seen: { cgroup: CgroupFigures; limits: GuardStats['limits']; instances: number };
  lastScanMs: number;
  /** pids.current as last read, by a poll or a scan. */
  seenTasks: number | undefined;
  // The working set of the level with the tightest memory limit, as last read (a poll reads
  // usage, which bounds it, while under the high mark).
  memoryBytes: number | undefined;
  /** The polls' readings, that growth is taken from. */
  pidsReadings: Reading[];
  memoryReadings: Reading[];
  /** The trace line of the last scan: logged again only when it changes. */
  lastSummary: string;
};

/** One running guard loop. */
export type GuardLoop = {
  options: GuardLoopOptions;
  /** This namespace's /proc, or undefined where there is none (the loop then reads through `ps`). */
  procRoot: string | undefined;
  access: ProcAccess;
  ticksPerSecond: number;
  pageBytes: number;
  read: ScanReader;
  watch: ChildWatch | undefined;
  metaMcp: MetaMcpSpotter;
  /** Which launchers' stdin a stop may close (stdin-closers.ts). */
  closers: StdinClosers;
  /** Every key that leaves the init (log, metrics, status) goes through this. */
  publish: (key: string) => string;
  state: LoopState;
};

export function makeGuardLoop(options: GuardLoopOptions): GuardLoop {
  const pageBytes = options.libc.pageBytes();
  const ticksPerSecond = options.libc.clockTicksPerSecond();
  const procRoot = options.procSource.kind === 'own' ? options.procSource.root : undefined;
  const watch = procRoot ? new ChildWatch(procRoot) : undefined;
  const main = procRoot ? readStat(options.mainPid, procRoot) : undefined;
  if (watch && main) watch.watch([main]);
  const closers = new StdinClosers(options.stdinClose, procRoot, (refused) => {
    options.stats.stdinClose = refused;
    options.log.warn(
      { why: refused.why },
      'stdin close unavailable from now on: stops fall back to SIGINT where a key takes it cleanly, and to the crash budget',
    );
  });
  return {
    options,
    procRoot,
    access: { source: options.procSource, pidfds: options.libc.pidfds },
    ticksPerSecond,
    pageBytes,
    read: makeScanReader({ procRoot, ticksPerSecond, pageBytes, cgroupDirs: options.cgroupDirs, pidsMax: options.pidsMax }, watch, closers),
    closers,
    watch,
    metaMcp: new MetaMcpSpotter(procRoot, options.crashBudget),
    publish: options.showCommandLines ? redactCommandLine : (key: string) => publishedCommand(key.split(' ')),
    state: {
      guard: INITIAL_GUARD_STATE,
      pressed: false,
      seen: { cgroup: {}, limits: {}, instances: 0 },
      lastScanMs: 0,
      seenTasks: undefined,
      memoryBytes: undefined,
      pidsReadings: [],
      memoryReadings: [],
      lastSummary: '',
    },
  };
}
