// What the guard loop is started with: setup-guard.ts decides it once, from the CLI's options.
import type { Logger } from 'pino';
import type { CgroupDirs } from '../../cgroup/figures.js';
import type { StdinCloseGrant } from '../../proc/close-stdin.js';
import type { ProcSource } from '../../proc/proc-source.js';
import type { Libc } from '../../sys/libc.js';
import type { GuardStats } from '../guard-stats.js';
import type { GuardConfig } from '../rules/context.js';

export type GuardLoopOptions = {
  config: GuardConfig;
  /** Full scan at least this often. */
  intervalMs: number;
  /** pids.current is one small read: poll it this often, and scan when it grew. */
  pollMs: number;
  stopGraceMs: number;
  dryRun: boolean;
  initPid: number;
  mainPid: number;
  /** Decided once at start-up: the guard never runs on a foreign /proc. */
  procSource: Exclude<ProcSource, { kind: 'foreign' }>;
  cgroupDirs: CgroupDirs;
  /** The operator's pids limit, applied over the cgroup's own (--pids-max). */
  pidsMax?: number | undefined;
  libc: Libc;
  /** Whether a stop may close a server's stdin, as the start-up probe found (off with --signals-only). */
  stdinClose: StdinCloseGrant;
  log: Logger;
  /** Where the loop tells what it sees and does, after every scan. */
  stats: GuardStats;
  /** Publish whole command lines, masked (--show-command-lines), not only their program and package. */
  showCommandLines?: boolean;
  /** Most crash stops of one key (--crash-budget); undefined: 0 for an app that looks like MetaMCP, unlimited otherwise. */
  crashBudget?: number | undefined;
};
