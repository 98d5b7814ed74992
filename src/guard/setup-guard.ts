import type { Logger } from 'pino';
import type { CgroupDirs } from '../cgroup/figures.js';
import { readCgroupFigures, withPidsMax } from '../cgroup/read-figures.js';
import type { GuardStarter } from '../init/run-init.js';
import { probeStdinClose } from '../proc/close-stdin.js';
import type { ProcSource } from '../proc/proc-source.js';
import type { Libc } from '../sys/libc.js';
import type { GuardStats } from './guard-stats.js';
import type { Headroom } from './headroom.js';
import { compilePatterns, DEFAULT_LAUNCHER_PATTERNS } from './launcher-patterns.js';
import { startGuard } from './loop/guard-loop.js';
import type { GuardConfig } from './rules/context.js';

/** What the guard is told: its rules and its loop. The CLI fills it from flags and METAMCP_INIT_*. */
export type GuardSettings = {
  guardOff: boolean;
  dryRun: boolean;
  /** Replace the default launcher patterns unless empty. */
  match: string[];
  alsoMatch: string[];
  maxPerCommand: number;
  maxInstances?: number;
  orphanGraceMs: number;
  idleAfterMs: number;
  startGraceMs: number;
  pidsHeadroom: Headroom;
  /** A pids limit to act on besides the cgroup's own (one the init cannot see). */
  pidsMax?: number;
  memoryHeadroom: Headroom;
  stopGraceMs: number;
  intervalMs: number;
  /** The app tolerates crashes of its servers: optional trims and stops at the high mark may cost one. */
  appToleratesCrashes: boolean;
  /** Under a limit's high mark, most trees starting at once (--max-starting); 0: none held. */
  maxStarting: number;
  /** Stop by signals only: never close a server's stdin (--signals-only). */
  signalsOnly: boolean;
  /** Publish whole command lines, masked (--show-command-lines), not only their program and package. */
  showCommandLines: boolean;
  /** Most stops of one key the app may count as a crash (--crash-budget); undefined: by what the app looks like. */
  crashBudget?: number | undefined;
};

/** What the guard is given besides its settings, all decided at start-up. */
export type GuardSetupContext = {
  procSource: ProcSource;
  /** The init's cgroups, found once at start-up. */
  cgroupDirs: CgroupDirs;
  /** Where the guard tells what it sees and does, for the report. */
  stats: GuardStats;
};

/** How often pids.current is read: one small file, the guard's fastest signal of a storm. */
const POLL_MS = 100;
/** Used within this, an instance is busy; started within this, its key has a session in flight. */
const BUSY_WITHIN_MS = 1000;

/** The launcher patterns the settings ask for, as written. */
function launcherPatternsOf(settings: Pick<GuardSettings, 'match' | 'alsoMatch'>): string[] {
  return [...(settings.match.length > 0 ? settings.match : DEFAULT_LAUNCHER_PATTERNS), ...settings.alsoMatch];
}

/** The rules' config from the settings: what the loop runs, and what the tests' model of it runs. */
export function guardConfigOf(settings: GuardSettings): GuardConfig {
  return {
    patterns: compilePatterns(launcherPatternsOf(settings)),
    maxPerCommand: settings.maxPerCommand,
    maxInstances: settings.maxInstances,
    orphanGraceMs: settings.orphanGraceMs,
    idleAfterMs: settings.idleAfterMs,
    startGraceMs: settings.startGraceMs,
    // Under pressure the guard scans every 100 ms, so 1 s is ten looks: a request in flight
    // shows. A MetaMCP session lists tools and calls one in about 0.2-0.4 s.
    busyWithinMs: BUSY_WITHIN_MS,
    pidsHeadroom: settings.pidsHeadroom,
    memoryHeadroom: settings.memoryHeadroom,
    appToleratesCrashes: settings.appToleratesCrashes,
    maxStarting: settings.maxStarting,
    stdinCloses: !settings.signalsOnly,
  };
}

/**
 * Turns the settings into a guard config, finds the cgroup, and says at start-up what the
 * guard will do: which limits it watches, and which rules are off because there is none.
 */
export function setupGuard(settings: GuardSettings, log: Logger, libc: Libc, { procSource, cgroupDirs, stats }: GuardSetupContext): GuardStarter | undefined {
  stats.intervalMs = settings.intervalMs;
  stats.scanEveryMs = settings.intervalMs;
  if (settings.guardOff) {
    stats.offReason = 'turned off (--guard-off)';
    log.info('guard off: running as a plain init');
    return undefined;
  }
  // Its pids are another namespace's: a decision about them would be about strangers.
  if (procSource.kind === 'foreign') {
    stats.offReason = "/proc is another pid namespace's";
    log.warn("guard off: its pids would be read from /proc, which is not our pid namespace's");
    return undefined;
  }
  const patterns = launcherPatternsOf(settings);
  const config = guardConfigOf(settings);
  if (procSource.kind === 'none') log.info('no /proc: the guard lists processes with ps (ps-list) and the cgroup rules are off');
  Object.assign(stats, { mode: settings.dryRun ? 'dry-run' : 'on', maxPerCommand: settings.maxPerCommand, maxInstances: settings.maxInstances });
  const figures = withPidsMax(readCgroupFigures(cgroupDirs), settings.pidsMax);
  if (figures.pids?.maxTasks === undefined) log.info({ cgroup: cgroupDirs.pids?.dir }, 'no pids limit found: the pids headroom rule is off');
  if (figures.memory?.limitBytes === undefined) log.info({ cgroup: cgroupDirs.memory?.dir }, 'no memory limit found: the memory headroom rule is off');
  const stdinClose = settings.signalsOnly ? { available: false as const, why: 'turned off (--signals-only)' } : probeStdinClose(libc.pidfds);
  stats.stdinClose = stdinClose;
  if (stdinClose.available) log.info("stops close a server's stdin first (pidfd_getfd allowed): an MCP server exits 0 on EOF");
  else
    (settings.signalsOnly ? log.info.bind(log) : log.warn.bind(log))(
      { why: stdinClose.why },
      'stdin close unavailable: stops fall back to SIGINT where a key takes it cleanly, and to the crash budget',
    );
  const { patterns: _compiled, ...rules } = config;
  log.info(
    { patterns, ...rules, dryRun: settings.dryRun, pids: figures.pids, memory: figures.memory },
    settings.dryRun ? 'guard on, dry run: decisions are logged, nothing is stopped' : 'guard on',
  );
  return (mainPid) =>
    startGuard({
      config,
      intervalMs: settings.intervalMs,
      pollMs: POLL_MS,
      stopGraceMs: settings.stopGraceMs,
      dryRun: settings.dryRun,
      initPid: process.pid,
      mainPid,
      procSource,
      cgroupDirs,
      pidsMax: settings.pidsMax,
      libc,
      stdinClose,
      log,
      stats,
      showCommandLines: settings.showCommandLines,
      crashBudget: settings.crashBudget,
    });
}
