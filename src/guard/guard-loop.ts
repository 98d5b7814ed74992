import type { Logger } from 'pino';
import type { CgroupDirs } from '../cgroup/figures.js';
import { pollWorkingSet, readCgroupFigures, readPidsCurrent, withPidsMax } from '../cgroup/read-figures.js';
import type { ProcSource } from '../proc/proc-source.js';
import { readCwd, readIoBytes, readUptimeSeconds } from '../proc/read-proc.js';
import { readProcsWithPsList } from '../proc/read-ps-list.js';
import { ProcScanner } from '../proc/read-snapshot.js';
import { type ProcInfo, refKey } from '../proc/snapshot.js';
import type { Libc } from '../sys/libc.js';
import { EMPTY_LINEAGE, findAppTree } from './app-tree.js';
import { describeStop } from './describe-stop.js';
import { type GuardStats, recordStop, viewInstances, viewLimits } from './guard-stats.js';
import { findInstances, type Instance, type KnownLauncher } from './instances.js';
import { looksLikeMetaMcp } from './metamcp.js';
import { EMPTY_POLICY_HISTORY, type GuardConfig, planStops } from './policy.js';
import { decideScan, type MemoryPoll, nextPollMs, scanEveryMs } from './scan-timing.js';
import { stopInstance } from './stop-instance.js';

/** While scans keep failing, one is logged this often. */
const ERROR_REPEAT_MS = 60_000;

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
  log: Logger;
  /** Where the loop tells what it sees and does, after every scan. */
  stats: GuardStats;
};

/** A running guard. */
export type Guard = { stop: () => void };

/**
 * Runs the guard: polls pids.current, scans /proc when it grew, when near a limit, or when a scan is due (scan-timing.ts),
 * finds the app's instances, reads how much each was used, plans with the pure policy,
 * logs each decision, and stops instances in the background. Never spawns and never
 * blocks: it keeps working in a full pids cgroup.
 */
export function startGuard(options: GuardLoopOptions): Guard {
  const { config, log, cgroupDirs, dryRun, initPid, mainPid, stats } = options;
  const pageBytes = options.libc.pageBytes();
  const ticksPerSecond = options.libc.clockTicksPerSecond();
  const procFs = options.procSource.kind === 'own';
  const scanner = new ProcScanner(options.procSource.kind === 'own' ? options.procSource.root : '/proc', ticksPerSecond);
  // Linux reads /proc, fork-free; only where there is none does `ps` (through ps-list) serve.
  const readProcs: () => Map<number, ProcInfo> | Promise<Map<number, ProcInfo>> = procFs ? () => scanner.scanInSlices() : readProcsWithPsList;
  let scanning = false;
  const inFlight = new Map<string, { key: string }>();
  // Dry run: each decision is said once, and is then treated as if under way.
  const reported = new Map<string, { key: string }>();
  // Stops the kernel refused (EPERM): said once, never tried again.
  const cannotStop = new Set<string>();
  let lineage = EMPTY_LINEAGE;
  let known: ReadonlyMap<string, KnownLauncher> = new Map();
  let history = EMPTY_POLICY_HISTORY;
  let appIsMetaMcp = false;
  const checked = new Set<string>();
  let lastPidsCurrent: number | undefined;
  // The working set of the level with the tightest memory limit, as last read (a poll reads
  // usage, which bounds it, while under the high mark).
  let memoryBytes: number | undefined;
  let pressed = false;
  let lastScanMs = 0;
  let lastSummary = '';
  let lastErrorLoggedMs = -Infinity;

  const scan = async () => {
    lastScanMs = Date.now();
    const startedAt = performance.now();
    const procs = await readProcs();
    const nowMs = Date.now();
    const uptimeSeconds = procFs ? readUptimeSeconds(options.procSource.kind === 'own' ? options.procSource.root : undefined) : undefined;
    const cgroup = withPidsMax(readCgroupFigures(cgroupDirs), options.pidsMax);
    lastPidsCurrent = cgroup.pids?.currentTasks;
    memoryBytes = cgroup.memory?.workingSetBytes;
    const app = findAppTree({ procs, initPid, mainPid, lineage });
    lineage = app.lineage;
    const found = findInstances({ app, initPid, patterns: config.patterns, known });
    known = found.known;
    if (!appIsMetaMcp) appIsMetaMcp = findMetaMcp([procs.get(mainPid), ...app.procs.values()], found.instances, checked);
    const instances = found.instances.filter((instance) => !cannotStop.has(instance.id));
    const plan = planStops(
      {
        nowMs,
        uptimeMs: uptimeSeconds === undefined ? nowMs : uptimeSeconds * 1000,
        ticksPerSecond,
        pageBytes,
        instances,
        io: procFs ? readIo(instances) : new Map(),
        cgroup,
      },
      config,
      history,
      dryRun ? reported : inFlight,
    );
    history = plan.history;
    pressed = plan.pressed;
    if (log.isLevelEnabled('trace')) {
      const keys: Record<string, number> = {};
      for (const instance of instances) keys[instance.key] = (keys[instance.key] ?? 0) + 1;
      const summary = JSON.stringify({ keys, pids: cgroup.pids?.currentTasks });
      if (summary !== lastSummary)
        log.trace({ procs: procs.size, appProcs: app.procs.size, keys, stopping: inFlight.size, pids: cgroup.pids, memory: cgroup.memory }, 'scan');
      lastSummary = summary;
    }
    stats.respawnLoops += plan.loops.length;
    for (const loop of plan.loops) {
      log.warn(
        { ...loop },
        `instances of one command are stopped and started over: leaving its duplicates alone, and stopping at most one of its starting instances a second, for ${Math.round(loop.backoffMs / 1000)} s`,
      );
    }
    for (const stop of plan.stops) {
      const decision = describeStop(stop, cgroup, pageBytes, appIsMetaMcp);
      const { instance } = stop;
      recordStop(stats, { atMs: nowMs, reason: stop.reason, key: instance.key, launcherPid: instance.launcher.pid, why: decision.why, dryRun });
      if (dryRun) {
        reported.set(instance.id, { key: instance.key });
        log.warn({ ...decision, dryRun: true }, `would stop MCP instance (${stop.reason})`);
        continue;
      }
      log.warn(decision, `stopping MCP instance (${stop.reason})`);
      inFlight.set(instance.id, { key: instance.key });
      stopInstance(instance, options.stopGraceMs)
        .then(
          (result) => {
            if (result.termed === 0 && result.killed === 0 && result.failed > 0) {
              cannotStop.add(instance.id);
              stats.failedStops += 1;
              log.error(
                { reason: stop.reason, key: instance.key, launcherPid: instance.launcher.pid, ...result },
                'cannot stop MCP instance: the kernel refused every signal (EPERM: it runs as another user); not trying again',
              );
            } else {
              log.info(
                { reason: stop.reason, key: instance.key, launcherPid: instance.launcher.pid, ...result },
                result.left === 0 ? 'stopped MCP instance' : 'MCP instance partly stopped: some members are still there',
              );
            }
          },
          (error: unknown) => {
            stats.failedStops += 1;
            log.error({ err: error, key: instance.key }, 'failed to stop MCP instance');
          },
        )
        .finally(() => inFlight.delete(instance.id));
    }
    // Forget what is gone: processes looked at, dry-run decisions, refused stops.
    for (const ref of checked) if (procs.get(Number(ref.slice(0, ref.indexOf(':')))) === undefined) checked.delete(ref);
    const present = new Set(found.instances.map((instance) => instance.id));
    for (const id of reported.keys()) if (!present.has(id)) reported.delete(id);
    for (const id of cannotStop) if (!present.has(id)) cannotStop.delete(id);

    const durationMs = performance.now() - startedAt;
    Object.assign(stats, {
      scans: stats.scans + 1,
      lastScanAtMs: Date.now(),
      lastScanDurationMs: durationMs,
      scanSecondsTotal: stats.scanSecondsTotal + durationMs / 1000,
      procs: procs.size,
      appProcs: app.procs.size,
      instances: viewInstances(found.instances, plan.states, pageBytes, cannotStop, inFlight),
      cgroup,
      limits: viewLimits(cgroup, config.pidsHeadroom, config.memoryHeadroom),
    });
  };

  // Memory of the level whose limit the last scan found tightest: its working set as just read,
  // as that scan saw it, and its marks.
  const pollMemory = (): MemoryPoll | undefined => {
    const seen = stats.cgroup.memory;
    const marks = stats.limits.memory?.marks;
    if (!cgroupDirs.memory || seen === undefined || marks === undefined) return undefined;
    memoryBytes = pollWorkingSet({ ...cgroupDirs.memory, dir: seen.dir }, marks.high);
    return memoryBytes === undefined ? undefined : { bytes: memoryBytes, seenBytes: seen.workingSetBytes, marks };
  };
  const memoryTiming = () => {
    const marks = stats.limits.memory?.marks;
    return memoryBytes === undefined || marks === undefined ? undefined : { bytes: memoryBytes, marks };
  };

  const tick = async () => {
    if (scanning) return;
    scanning = true;
    try {
      const currentTasks = cgroupDirs.pids ? readPidsCurrent(cgroupDirs.pids.dir) : undefined;
      const state = {
        currentTasks,
        seenTasks: lastPidsCurrent,
        pressed,
        memory: pollMemory(),
        instances: stats.instances.length,
        msSinceLastScan: Date.now() - lastScanMs,
      };
      stats.scanEveryMs = scanEveryMs(state, options);
      const decision = decideScan(state, options);
      lastPidsCurrent = decision.seenTasks;
      if (decision.scan) await scan();
    } catch (error) {
      // The guard must never take PID 1 down: log and try again at the next tick. Failures
      // that go on are said once a minute, with how many there were, not at every tick.
      const nowMs = Date.now();
      stats.scanErrors += 1;
      stats.lastScanError = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
      if (nowMs - lastErrorLoggedMs >= ERROR_REPEAT_MS) {
        log.error({ err: error, failedScans: stats.scanErrors }, 'guard scan failed; carrying on');
        lastErrorLoggedMs = nowMs;
      }
    } finally {
      scanning = false;
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const loop = () => {
    void tick().finally(() => {
      const timing = {
        pressed,
        seenTasks: lastPidsCurrent,
        highMark: stats.limits.pids?.marks.high,
        memory: memoryTiming(),
      };
      if (!stopped) timer = setTimeout(loop, nextPollMs(timing, options));
    });
  };
  loop();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** I/O bytes of every member of every instance: one small read each, only for those. */
function readIo(instances: readonly Instance[]): Map<number, number> {
  const io = new Map<number, number>();
  for (const instance of instances) {
    for (const member of instance.members) {
      const bytes = readIoBytes(member.pid);
      if (bytes !== undefined) io.set(member.pid, bytes);
    }
  }
  return io;
}

/** Looks once at each of the app's processes that is not an instance member for MetaMCP's backend. */
function findMetaMcp(procs: readonly (ProcInfo | undefined)[], instances: readonly Instance[], checked: Set<string>): boolean {
  const members = new Set(instances.flatMap((instance) => instance.members.map((member) => member.pid)));
  for (const proc of procs) {
    if (!proc || members.has(proc.pid) || checked.has(refKey(proc))) continue;
    checked.add(refKey(proc));
    if (looksLikeMetaMcp(proc.argv, readCwd(proc.pid))) return true;
  }
  return false;
}
