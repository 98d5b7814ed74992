import type { Logger } from 'pino';
import type { CgroupDirs, CgroupFigures } from '../cgroup/figures.js';
import { readCgroupFigures, readPidsCurrent } from '../cgroup/read-figures.js';
import { readUptimeSeconds } from '../proc/read-proc.js';
import { hasProcFs } from '../proc/has-proc-fs.js';
import { readProcsWithPsList } from '../proc/read-ps-list.js';
import { ProcScanner } from '../proc/read-snapshot.js';
import type { ProcInfo } from '../proc/snapshot.js';
import type { Libc } from '../sys/libc.js';
import { EMPTY_HISTORY, planStops, type GuardConfig, type GuardHistory, type Stop } from './policy.js';
import { stopInstance } from './stop-instance.js';

export type GuardLoopOptions = {
  config: GuardConfig;
  /** Full scan at least this often. */
  intervalMs: number;
  /** pids.current is one small read: poll it this often, and scan when it changed. */
  pollMs: number;
  stopGraceMs: number;
  dryRun: boolean;
  initPid: number;
  mainPid: number;
  cgroupDirs: CgroupDirs;
  libc: Libc;
  log: Logger;
};

/** A running guard. */
export type Guard = { stop: () => void };

/**
 * Runs the guard: polls pids.current, scans /proc when it moved or the interval passed,
 * plans with the pure policy, logs each decision, and stops instances in the background.
 * Never spawns and never blocks: it keeps working in a full pids cgroup.
 */
export function startGuard(options: GuardLoopOptions): Guard {
  const { config, log, cgroupDirs, dryRun } = options;
  const pageBytes = options.libc.pageBytes();
  const ticksPerSecond = options.libc.clockTicksPerSecond();
  const scanner = new ProcScanner('/proc', ticksPerSecond);
  // Linux reads /proc, fork-free; only where there is none does `ps` (through ps-list) serve.
  const readProcs: () => Map<number, ProcInfo> | Promise<Map<number, ProcInfo>> = hasProcFs()
    ? () => scanner.scan()
    : readProcsWithPsList;
  let scanning = false;
  const stopping = new Set<string>();
  const reported = new Set<string>();
  let history: GuardHistory = EMPTY_HISTORY;
  let lastPidsCurrent: number | undefined;
  let lastScanMs = 0;
  let lastSummary = '';

  const scan = async () => {
    lastScanMs = Date.now();
    const procs = await readProcs();
    const nowMs = Date.now();
    const cgroup = readCgroupFigures(cgroupDirs);
    lastPidsCurrent = cgroup.pids?.currentTasks;
    const snapshot = { nowMs, initPid: options.initPid, mainPid: options.mainPid, procs, cgroup, pageBytes };
    const plan = planStops(snapshot, config, history, stopping);
    history = plan.history;
    if (log.isLevelEnabled('trace')) {
      const keys: Record<string, number> = {};
      for (const instance of plan.instances) keys[instance.key] = (keys[instance.key] ?? 0) + 1;
      const summary = JSON.stringify({ keys, pids: cgroup.pids?.currentTasks });
      if (summary !== lastSummary) log.trace({ procs: procs.size, keys, stopping: stopping.size, pids: cgroup.pids, memory: cgroup.memory }, 'scan');
      lastSummary = summary;
    }
    if (plan.stops.length === 0) return;
    const uptimeSeconds = readUptimeSeconds();
    const uptimeMs = uptimeSeconds === undefined ? undefined : uptimeSeconds * 1000;
    for (const stop of plan.stops) {
      const decision = describeStop(stop, cgroup, uptimeMs, ticksPerSecond, pageBytes);
      if (dryRun) {
        const key = `${stop.instance.id}/${stop.reason}`;
        if (!reported.has(key)) log.warn({ ...decision, dryRun: true }, `would stop MCP instance (${stop.reason})`);
        reported.add(key);
        continue;
      }
      log.warn(decision, `stopping MCP instance (${stop.reason})`);
      stopping.add(stop.instance.id);
      stopInstance(stop.instance, options.stopGraceMs).then(
        (result) => log.info({ reason: stop.reason, key: stop.instance.key, launcherPid: stop.instance.launcher.pid, ...result }, 'stopped MCP instance'),
        (error: unknown) => log.error({ err: error, key: stop.instance.key }, 'failed to stop MCP instance'),
      ).finally(() => stopping.delete(stop.instance.id));
    }
  };

  const tick = async () => {
    if (scanning) return;
    scanning = true;
    try {
      const current = cgroupDirs.pids ? readPidsCurrent(cgroupDirs.pids.dir) : undefined;
      if (current !== lastPidsCurrent || Date.now() - lastScanMs >= options.intervalMs) await scan();
    } catch (error) {
      // The guard must never take PID 1 down: log and try again at the next tick.
      log.error({ err: error }, 'guard scan failed; carrying on');
    } finally {
      scanning = false;
    }
  };

  void tick();
  const timer = setInterval(() => void tick(), options.pollMs);
  return { stop: () => clearInterval(timer) };
}

/** The structured evidence of one decision: what, why, and the figures behind it. */
function describeStop(stop: Stop, cgroup: CgroupFigures, uptimeMs: number | undefined, ticksPerSecond: number, pageBytes: number) {
  const { instance } = stop;
  return {
    reason: stop.reason,
    key: instance.key,
    launcherPid: instance.launcher.pid,
    launcherAlive: instance.launcherAlive,
    orphaned: instance.orphaned,
    idle: stop.idle,
    pids: instance.members.map((member) => member.pid),
    tasks: instance.tasks,
    rssBytes: instance.rssPages * pageBytes,
    ageMs: uptimeMs === undefined ? undefined : Math.max(0, Math.round(uptimeMs - (instance.launcher.startTicks * 1000) / ticksPerSecond)),
    cgroup: {
      pidsCurrent: cgroup.pids?.currentTasks,
      pidsMax: cgroup.pids?.maxTasks,
      memoryWorkingSetBytes: cgroup.memory?.workingSetBytes,
      memoryLimitBytes: cgroup.memory?.limitBytes,
    },
  };
}
