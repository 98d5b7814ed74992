import type { Logger } from 'pino';
import type { GuardSettings } from '../cli/options.js';
import { detectCgroupDirs } from '../cgroup/detect.js';
import { readCgroupFigures } from '../cgroup/read-figures.js';
import type { ProcSource } from '../proc/proc-source.js';
import type { Libc } from '../sys/libc.js';
import { startGuard, type Guard } from './guard-loop.js';
import { compilePatterns, DEFAULT_LAUNCHER_PATTERNS } from './launcher-patterns.js';
import type { GuardConfig } from './policy.js';

/** Starts the guard for a main child. */
export type GuardStarter = (mainPid: number) => Guard;

/**
 * Turns the settings into a guard config, finds the cgroup, and says at start-up what the
 * guard will do: which limits it watches, and which rules are off because there is none.
 */
export function setupGuard(settings: GuardSettings, log: Logger, libc: Libc, procSource: ProcSource): GuardStarter | undefined {
  if (settings.guardOff) {
    log.info('guard off: running as a plain init');
    return undefined;
  }
  // Its pids are another namespace's: a decision about them would be about strangers.
  if (procSource.kind === 'foreign') {
    log.warn('guard off: its pids would be read from /proc, which is not our pid namespace\'s');
    return undefined;
  }
  const patterns = [...(settings.match.length > 0 ? settings.match : DEFAULT_LAUNCHER_PATTERNS), ...settings.alsoMatch];
  const config: GuardConfig = {
    patterns: compilePatterns(patterns),
    maxPerCommand: settings.maxPerCommand,
    maxInstances: settings.maxInstances,
    orphanGraceMs: settings.orphanGraceMs,
    idleAfterMs: settings.idleAfterMs,
    pidsHeadroom: settings.pidsHeadroom,
    memoryHeadroom: settings.memoryHeadroom,
    headroomAny: settings.headroomAny,
  };
  if (procSource.kind === 'none') log.info('no /proc: the guard lists processes with ps (ps-list) and the cgroup rules are off');
  const cgroupDirs = detectCgroupDirs();
  const figures = readCgroupFigures(cgroupDirs);
  if (figures.pids?.maxTasks === undefined) log.info({ cgroup: cgroupDirs.pids?.dir }, 'no pids limit found: the pids headroom rule is off');
  if (figures.memory?.limitBytes === undefined) log.info({ cgroup: cgroupDirs.memory?.dir }, 'no memory limit found: the memory headroom rule is off');
  log.info({
    patterns, maxPerCommand: config.maxPerCommand, maxInstances: config.maxInstances, orphanGraceMs: config.orphanGraceMs,
    pidsHeadroom: config.pidsHeadroom, memoryHeadroom: config.memoryHeadroom, dryRun: settings.dryRun,
    pids: figures.pids, memory: figures.memory,
  }, settings.dryRun ? 'guard on, dry run: decisions are logged, nothing is stopped' : 'guard on');
  return (mainPid) => startGuard({
    config, intervalMs: settings.intervalMs, pollMs: 100, stopGraceMs: settings.stopGraceMs, dryRun: settings.dryRun,
    initPid: process.pid, mainPid, cgroupDirs, libc, log,
  });
}
