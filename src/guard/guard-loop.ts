import type { Logger } from 'pino';
import type { CgroupDirs, CgroupFigures } from '../cgroup/figures.js';
import { pollWorkingSet, readCgroupFigures, readPidsCurrent, withPidsMax } from '../cgroup/read-figures.js';
import type { ProcSource } from '../proc/proc-source.js';
import { hasCloseSignalPending, readCwd, readIoBytes, readStat } from '../proc/read-proc.js';
import { readProcsWithPsList } from '../proc/read-ps-list.js';
import { ProcScanner } from '../proc/read-snapshot.js';
import { redactCommandLine } from '../proc/redact-command-line.js';
import { type ProcInfo, refKey } from '../proc/snapshot.js';
import type { Libc } from '../sys/libc.js';
import { ChildWatch, QUIET_WATCH_MS, WATCH_MS } from './child-watch.js';
import type { DemandEstimate } from './demand.js';
import { describeDemand, describeLesson, describeStop } from './describe-stop.js';
import { addReading, growthPerSecond, type Reading } from './growth.js';
import { type GuardStats, recordStop, recordStopEnd, type StopRecord, viewInstances, viewLearnt, viewLimits } from './guard-stats.js';
import type { Instance } from './instances.js';
import { looksLikeMetaMcp } from './metamcp.js';
import type { GuardConfig } from './rules/context.js';
import { decideScan, type MemoryPoll, nextPollMs, scanEveryMs } from './scan-timing.js';
import { signalAll } from './signal-instance.js';
import { finishStop, type GuardState, INITIAL_GUARD_STATE, stepGuard } from './step.js';
import { stopInstance } from './stop-instance.js';
import type { Stop } from './stops.js';

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
  /** Publish command lines as they are (--show-command-lines), not with their secrets masked. */
  showCommandLines?: boolean;
  /** Most crash stops of one key (--crash-budget); undefined: 0 for an app that looks like MetaMCP, unlimited otherwise. */
  crashBudget?: number | undefined;
};

/** A running guard. */
export type Guard = { stop: () => void };

/**
 * Runs the guard, a thin shell around stepGuard (step.ts): polls pids.current, memory and the
 * app's new children, scans /proc when a poll calls for it (scan-timing.ts), steps, logs each
 * decision, stops instances in the background and feeds how each stop ended back to the
 * state, and publishes what it saw. Never spawns and never blocks: it keeps working in a full
 * pids cgroup.
 */
export function startGuard(options: GuardLoopOptions): Guard {
  const { config, log, cgroupDirs, dryRun, initPid, mainPid, stats } = options;
  const pageBytes = options.libc.pageBytes();
  const ticksPerSecond = options.libc.clockTicksPerSecond();
  const procRoot = options.procSource.kind === 'own' ? options.procSource.root : undefined;
  const access = { source: options.procSource, pidfds: options.libc.pidfds };
  const scanner = new ProcScanner(procRoot ?? '/proc', ticksPerSecond);
  // Linux reads /proc, fork-free; only where there is none does `ps` (through ps-list) serve.
  const readProcs: () => Map<number, ProcInfo> | Promise<Map<number, ProcInfo>> = procRoot ? () => scanner.scanInSlices() : readProcsWithPsList;
  const watch = procRoot ? new ChildWatch(procRoot) : undefined;
  const main = procRoot ? readStat(mainPid, procRoot) : undefined;
  if (watch && main) watch.watch([main]);
  // MetaMCP's released version puts a server in ERROR at its first crash: unless told how many
  // it tolerates, the guard makes none once it sees MetaMCP.
  const crashBudget = () => options.crashBudget ?? (appIsMetaMcp ? 0 : Number.POSITIVE_INFINITY);
  // Every key that leaves the init (log, metrics, status) goes through this.
  const publish = options.showCommandLines ? (key: string) => key : redactCommandLine;
  let state: GuardState = INITIAL_GUARD_STATE;
  let scanning = false;
  let appIsMetaMcp = false;
  const checked = new Set<string>();
  let pidsReadings: Reading[] = [];
  let memoryReadings: Reading[] = [];
  let lastPidsCurrent: number | undefined;
  // The working set of the level with the tightest memory limit, as last read (a poll reads
  // usage, which bounds it, while under the high mark).
  let memoryBytes: number | undefined;
  let pressed = false;
  // What the last scan saw that the polls are timed by: the loop's own, apart from the stats it publishes.
  let seen: { cgroup: CgroupFigures; limits: GuardStats['limits']; instances: number } = { cgroup: {}, limits: {}, instances: 0 };
  let lastScanMs = 0;
  let lastSummary = '';
  let lastErrorLoggedMs = -Infinity;

  const act = (stop: Stop, record: StopRecord) => {
    const { instance } = stop;
    const id = instance.id;
    stopInstance(instance, { method: stop.method, graceMs: options.stopGraceMs, ticksPerSecond, access })
      .then(
        (result) => {
          const fields = { reason: stop.reason, key: publish(instance.key), launcherPid: instance.launcher.pid, method: stop.method, ...result };
          if (result.interrupted === 0 && result.termed === 0 && result.killed === 0 && result.failed > 0) {
            state = finishStop(state, { id, refused: true }, Date.now());
            stats.failedStops += 1;
            log.error(fields, 'cannot stop MCP instance: the kernel refused every signal (EPERM: it runs as another user); not trying again');
            return;
          }
          state = finishStop(state, { id, endedBy: result.endedBy }, Date.now());
          recordStopEnd(stats, record, result.endedBy);
          log.info(
            { ...fields, ending: endingOf(result.endedBy) },
            result.left === 0 ? 'stopped MCP instance' : 'MCP instance partly stopped: some members are still there',
          );
        },
        (error: unknown) => {
          state = finishStop(state, { id, failed: true }, Date.now());
          stats.failedStops += 1;
          log.error({ err: error, key: publish(instance.key) }, 'failed to stop MCP instance');
        },
      )
      .catch((error: unknown) => log.error({ err: error }, 'guard: after a stop'));
  };

  const scan = async () => {
    lastScanMs = Date.now();
    const startedAt = performance.now();
    const procs = await readProcs();
    const nowMs = Date.now();
    // The uptime the scan read as it began, carried to now: /proc/uptime once per scan.
    const uptime = procRoot ? scanner.lastUptime : undefined;
    const cgroup = withPidsMax(readCgroupFigures(cgroupDirs), options.pidsMax);
    lastPidsCurrent = cgroup.pids?.currentTasks;
    memoryBytes = cgroup.memory?.workingSetBytes;
    const result = stepGuard(
      state,
      {
        nowMs,
        uptimeMs: uptime === undefined ? nowMs : uptime.seconds * 1000 + (nowMs - uptime.atMs),
        ticksPerSecond,
        pageBytes,
        procs,
        // The scan's own snapshot says who is still there: no read per child.
        seenChildren: watch?.takeSeen((ref) => procs.get(ref.pid)?.startTicks === ref.startTicks) ?? [],
        readIo: procRoot ? (pid) => readIoBytes(pid, procRoot) : () => undefined,
        cgroup,
        growthPerSecond: { tasks: growthPerSecond(pidsReadings), bytes: growthPerSecond(memoryReadings) },
        closeAsked: procRoot ? (pid) => hasCloseSignalPending(pid, procRoot) : () => false,
      },
      { config, initPid, mainPid, dryRun, crashBudget: crashBudget() },
    );
    state = result.state;
    pressed = result.pressed;
    watch?.watch(result.spawners);
    if (!appIsMetaMcp) {
      appIsMetaMcp = findMetaMcp([procs.get(mainPid), ...result.spawners], result.instances, checked, procRoot);
      if (appIsMetaMcp)
        log.info(
          { crashBudget: crashBudget() },
          options.crashBudget === undefined
            ? 'the app looks like MetaMCP: the guard makes no stop it would count as a crash (set METAMCP_INIT_CRASH_BUDGET to what its MCP_MAX_ATTEMPTS tolerates)'
            : 'the app looks like MetaMCP',
        );
    }
    for (const key of result.budgetSpent)
      log.warn(
        { key: publish(key), crashBudget: crashBudget() },
        "the guard spent this server's crash budget: it stops no more of its instances that the app holds",
      );
    if (log.isLevelEnabled('trace')) {
      const keys: Record<string, number> = {};
      for (const instance of result.instances) keys[publish(instance.key)] = (keys[publish(instance.key)] ?? 0) + 1;
      const summary = JSON.stringify({ keys, pids: cgroup.pids?.currentTasks });
      if (summary !== lastSummary)
        log.trace({ procs: procs.size, appProcs: result.appProcs, keys, stopping: state.underWay.size, pids: cgroup.pids, memory: cgroup.memory }, 'scan');
      lastSummary = summary;
    }
    stats.respawnLoops += result.loops.length;
    for (const loop of result.loops) {
      log.warn(
        { ...loop, key: publish(loop.key) },
        `instances of one command are stopped and started over: leaving its duplicates alone for ${Math.round(loop.backoffMs / 1000)} s (the limits are still kept)`,
      );
    }
    for (const lesson of result.lessons) log.info({ ...describeLesson(lesson), key: publish(lesson.key) }, 'learnt how the app takes a stop of this key');
    for (const estimate of result.demandNotices) log.warn(describeDemand(estimate), demandMessage(estimate));
    for (const stop of result.stops) {
      const decision = { ...describeStop(stop, cgroup, pageBytes, appIsMetaMcp), key: publish(stop.instance.key) };
      const { instance } = stop;
      const record: StopRecord = {
        atMs: nowMs,
        reason: stop.reason,
        key: decision.key,
        launcherPid: instance.launcher.pid,
        why: decision.why,
        dryRun,
        method: stop.method,
      };
      recordStop(stats, record);
      if (dryRun) {
        log.warn({ ...decision, dryRun: true }, `would stop MCP instance (${stop.reason})`);
        continue;
      }
      log.warn(decision, `stopping MCP instance (${stop.reason})`);
      act(stop, record);
    }
    for (const instance of result.hold) {
      signalAll(instance, 'SIGSTOP', access);
      stats.holds += 1;
      log.info(
        {
          key: publish(instance.key),
          launcherPid: instance.launcher.pid,
          tasks: instance.tasks,
          maxStarting: config.maxStarting,
          pids: cgroup.pids?.currentTasks,
        },
        `holding a starting MCP instance back (SIGSTOP): a limit is near and more than ${config.maxStarting} start at once`,
      );
    }
    for (const { instance, why } of result.release) {
      signalAll(instance, 'SIGCONT', access);
      log.info({ key: publish(instance.key), launcherPid: instance.launcher.pid, why }, 'letting a held MCP instance go on (SIGCONT)');
    }
    stats.heldNow = state.holds.heldSinceMs.size;
    // Forget the processes looked at that are gone.
    for (const ref of checked) if (procs.get(Number(ref.slice(0, ref.indexOf(':')))) === undefined) checked.delete(ref);

    const durationMs = performance.now() - startedAt;
    seen = { cgroup, limits: viewLimits(cgroup, config.pidsHeadroom, config.memoryHeadroom), instances: result.instances.length };
    Object.assign(stats, {
      scans: stats.scans + 1,
      lastScanAtMs: Date.now(),
      lastScanDurationMs: durationMs,
      scanSecondsTotal: stats.scanSecondsTotal + durationMs / 1000,
      procs: procs.size,
      appProcs: result.appProcs,
      instances: viewInstances(result.instances, result.states, pageBytes, state.refused, state.underWay, publish),
      cgroup,
      limits: seen.limits,
      learnt: viewLearnt(state.records, publish),
      demand: result.demand,
      watchReads: watch?.reads ?? 0,
    });
  };

  // Memory of the level whose limit the last scan found tightest: its working set as just read,
  // as that scan saw it, and its marks.
  const pollMemory = (): MemoryPoll | undefined => {
    const memory = seen.cgroup.memory;
    const marks = seen.limits.memory?.marks;
    if (!cgroupDirs.memory || memory === undefined || marks === undefined) return undefined;
    memoryBytes = pollWorkingSet({ ...cgroupDirs.memory, dir: memory.dir }, marks.high);
    return memoryBytes === undefined ? undefined : { bytes: memoryBytes, seenBytes: memory.workingSetBytes, marks };
  };
  const memoryTiming = () => {
    const marks = seen.limits.memory?.marks;
    return memoryBytes === undefined || marks === undefined ? undefined : { bytes: memoryBytes, marks };
  };

  const tick = async () => {
    if (scanning) return;
    scanning = true;
    try {
      const nowMs = Date.now();
      const currentTasks = cgroupDirs.pids ? readPidsCurrent(cgroupDirs.pids.dir) : undefined;
      if (currentTasks !== undefined) pidsReadings = addReading(pidsReadings, { atMs: nowMs, value: currentTasks });
      const memory = pollMemory();
      if (memory) memoryReadings = addReading(memoryReadings, { atMs: nowMs, value: memory.bytes });
      const pollState = {
        currentTasks,
        seenTasks: lastPidsCurrent,
        pressed,
        memory,
        instances: seen.instances,
        msSinceLastScan: nowMs - lastScanMs,
      };
      stats.scanEveryMs = scanEveryMs(pollState, options);
      const decision = decideScan(pollState, options);
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
  let watchTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticking = false;
  const pollWatch = (nowMs: number): boolean => {
    try {
      return watch?.poll(nowMs) ?? false;
    } catch (error) {
      stats.scanErrors += 1;
      stats.lastScanError = `child watch: ${error instanceof Error ? error.message : String(error)}`;
      return false;
    }
  };
  // While the namespace forks, every tick first looks at the app's children and comes every
  // WATCH_MS: pids.current is read as often, as tasks grow only by forks. Once nothing forks,
  // the watch goes on alone on its own timer, in one synchronous step (a wake of Node is most
  // of its cost then), the limits on their own cadence; the first fork it sees brings the
  // ticks back at once.
  const loop = (watchPolled = false) => {
    clearTimeout(timer);
    timer = undefined;
    if (ticking || stopped) return;
    ticking = true;
    if (!watchPolled) pollWatch(Date.now());
    void tick().finally(() => {
      ticking = false;
      if (stopped) return;
      const timing = {
        pressed,
        seenTasks: lastPidsCurrent,
        highMark: seen.limits.pids?.marks.high,
        memory: memoryTiming(),
      };
      const waitMs = nextPollMs(timing, options);
      const forking = watch?.isForking(Date.now()) ?? false;
      timer = setTimeout(() => loop(), forking ? Math.min(waitMs, WATCH_MS) : waitMs);
      if (watch && !forking && watchTimer === undefined) watchTimer = setTimeout(watchLoop, QUIET_WATCH_MS);
    });
  };
  const watchLoop = () => {
    watchTimer = undefined;
    if (!watch || stopped) return;
    const nowMs = Date.now();
    if (pollWatch(nowMs)) loop(true);
    else watchTimer = setTimeout(watchLoop, watch.nextPollMs(nowMs));
  };
  loop();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(watchTimer);
      watch?.close();
    },
  };
}

function endingOf(endedBy: 'interrupt' | 'terminate' | 'kill'): string {
  return endedBy === 'interrupt' ? 'its server ended on SIGINT' : endedBy === 'terminate' ? 'ended on TERM' : 'KILLed after the stop grace';
}

function demandMessage(estimate: DemandEstimate): string {
  return `the app asks for more than the ${estimate.limit} limit holds: the guard keeps stopping instances it holds; a limit of about ${estimate.needed} would fit`;
}

/** Looks once at each of the app's processes that is not an instance member for MetaMCP's backend. */
function findMetaMcp(procs: readonly (ProcInfo | undefined)[], instances: readonly Instance[], checked: Set<string>, procRoot: string | undefined): boolean {
  const members = new Set(instances.flatMap((instance) => instance.members.map((member) => member.pid)));
  for (const proc of procs) {
    if (!proc || members.has(proc.pid) || checked.has(refKey(proc))) continue;
    checked.add(refKey(proc));
    if (looksLikeMetaMcp(proc.argv, readCwd(proc.pid, procRoot))) return true;
  }
  return false;
}
