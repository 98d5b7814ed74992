// Builders of synthetic /proc snapshots for the pure guard tests, and a model of the loop
// that drives the guard's own step (step.ts) scan after scan, carrying its state.
import type { CgroupFigures } from '../../src/cgroup/figures.js';
import { defaultValues } from '../../src/cli/options.js';
import { EMPTY_LINEAGE, findAppTree } from '../../src/guard/app-tree.js';
import { commandKey } from '../../src/guard/command-key.js';
import { findInstances, type Instance, type KnownLauncher } from '../../src/guard/instances.js';
import type { GuardConfig } from '../../src/guard/rules/context.js';
import { guardConfigOf } from '../../src/guard/setup-guard.js';
import { finishStop, type GuardState, INITIAL_GUARD_STATE, type StepResult, type StopOutcome, stepGuard } from '../../src/guard/step.js';
import type { ProcInfo, ProcStat } from '../../src/proc/snapshot.js';
import { refKey } from '../../src/proc/snapshot.js';

export const INIT_PID = 1;
export const MAIN_PID = 7;
export const TICKS_PER_SECOND = 100;

/** A process; by default a sleeping single-threaded child of the init, started at tick = pid. */
export function makeProc(pid: number, overrides: Partial<ProcInfo> = {}): ProcInfo {
  return {
    pid,
    ppid: INIT_PID,
    pgid: pid,
    sid: pid,
    flags: 0,
    state: 'S',
    comm: 'proc',
    startTicks: pid,
    threads: 1,
    cpuTicks: 0,
    rssPages: 256,
    argv: ['proc'],
    ...overrides,
  };
}

/**
 * One MCP server launched the way MetaMCP does: `npm exec` (npm's one-string title)
 * leading its own session and group, under `parent`, → `sh -c` → node server.
 */
export function makeNpmTree(
  launcherPid: number,
  options: { parent?: number; pkg?: string; startTicks?: number; threads?: number; cpuTicks?: number } = {},
): ProcInfo[] {
  const { parent = MAIN_PID, pkg = '@modelcontextprotocol/server-everything', startTicks = launcherPid, threads = 11, cpuTicks = 0 } = options;
  const group = { pgid: launcherPid, sid: launcherPid };
  return [
    makeProc(launcherPid, { ...group, ppid: parent, startTicks, comm: 'npm exec @model', argv: [`npm exec ${pkg}`], threads, cpuTicks }),
    makeProc(launcherPid + 1, { ...group, ppid: launcherPid, startTicks: startTicks + 1, comm: 'sh', argv: ['sh', '-c', 'mcp-server-everything'] }),
    makeProc(launcherPid + 2, {
      ...group,
      ppid: launcherPid + 1,
      startTicks: startTicks + 2,
      comm: 'node',
      argv: ['node', `/root/.npm/_npx/abc/node_modules/.bin/mcp-server-everything`],
      threads,
      cpuTicks,
    }),
  ];
}

/**
 * An instance as findInstances makes it of a live launcher's tree (`members`, launcher
 * first), for tests of what comes after it; figures are the members' sums.
 */
export function makeInstance(members: readonly ProcInfo[], overrides: Partial<Instance> = {}): Instance {
  const launcher = members[0]!;
  return {
    id: refKey(launcher),
    key: commandKey(launcher.argv),
    launcher: { pid: launcher.pid, startTicks: launcher.startTicks },
    launcherAlive: true,
    orphaned: false,
    members,
    pgid: launcher.pgid,
    tasks: members.reduce((sum, member) => sum + member.threads, 0),
    rssPages: members.reduce((sum, member) => sum + member.rssPages, 0),
    cpuTicks: members.reduce((sum, member) => sum + member.cpuTicks, 0),
    ...overrides,
  };
}

/** Every process of a snapshot by pid: the init, the main child (MetaMCP's backend) and `procs`. */
export function makeProcs(procs: readonly ProcInfo[]): Map<number, ProcInfo> {
  const all = [
    makeProc(INIT_PID, {
      ppid: 0,
      pgid: 0,
      sid: 0,
      comm: 'node',
      argv: ['node', '/opt/metamcp-init/metamcp-init.cjs', '--', './docker-entrypoint.sh'],
      threads: 8,
    }),
    makeProc(MAIN_PID, { comm: 'node', argv: ['node', 'dist/index.js'], threads: 11 }),
    ...procs,
  ];
  return new Map(all.map((proc) => [proc.pid, proc]));
}

/** The app tree and instances of one scan with no memory of earlier ones, under the default patterns. */
export function findOnce(procs: readonly ProcInfo[], known: ReadonlyMap<string, KnownLauncher> = new Map()) {
  const app = findAppTree({ procs: makeProcs(procs), initPid: INIT_PID, mainPid: MAIN_PID, lineage: EMPTY_LINEAGE });
  return findInstances({ app, initPid: INIT_PID, patterns: makeConfig().patterns, known });
}

// Compiled once: RE2 compiles slowly, and the generated-tables test makes 3000 configs.
/** The guard's config with the CLI's defaults (the one table in cli/options.ts), and overrides. */
export function makeConfig(overrides: Partial<GuardConfig> = {}): GuardConfig {
  return { ...guardConfigOf(defaultValues()), ...overrides };
}

export type ScanInput = {
  /** Wall clock of the scan; processes started at tick N are N * 10 ms after boot, and boot is at 0. */
  nowMs: number;
  cgroup?: CgroupFigures;
  /** I/O bytes by pid (default: none readable). */
  io?: ReadonlyMap<number, number>;
  /** Stops under way besides the model's own (instance id → key): as if the loop had made them. */
  inFlight?: ReadonlyMap<string, { key: string }>;
  /** Children of the main child the polls saw since the last scan. */
  seenChildren?: readonly ProcStat[];
  growthPerSecond?: { tasks: number; bytes: number };
  /** Pids with a TERM, INT or HUP pending. */
  closeAsked?: ReadonlySet<number>;
  /** Launcher pids that take an exit request (default: none). */
  stdinClosable?: ReadonlySet<number>;
};

/**
 * The guard's loop without its effects: each scan is one stepGuard on synthetic processes.
 * Stops it plans stay under way until the test ends them (`end`), or, with `settle`, until
 * their instance is gone from a later scan (as if the stop took effect by then).
 */
export class GuardModel {
  state: GuardState = INITIAL_GUARD_STATE;

  constructor(
    readonly config: GuardConfig = makeConfig(),
    readonly options: { dryRun?: boolean; settle?: 'when-gone' | 'never'; crashBudget?: number } = {},
  ) {}

  scan(procs: readonly ProcInfo[], input: ScanInput): StepResult {
    let before = this.state;
    if (input.inFlight) {
      const underWay = new Map(before.underWay);
      for (const [id, { key }] of input.inFlight) {
        if (!underWay.has(id)) underWay.set(id, { key, method: 'terminate', atMs: input.nowMs, siblings: [], dryRun: false, cost: 'crash', settled: true });
      }
      before = { ...before, underWay };
    }
    const all = makeProcs(procs);
    if (this.options.settle !== 'never') {
      // A stop of the model's own ends, as it was made, once its instance's processes are gone.
      for (const [id, stop] of before.underWay) {
        if (input.inFlight?.has(id) || stop.dryRun) continue;
        const pid = Number(id.slice(0, id.indexOf(':')));
        if (!all.has(pid)) before = finishStop(before, { id, endedBy: stop.method }, input.nowMs);
      }
    }
    const io = input.io ?? new Map<number, number>();
    const result = stepGuard(
      before,
      {
        nowMs: input.nowMs,
        uptimeMs: input.nowMs,
        ticksPerSecond: TICKS_PER_SECOND,
        pageBytes: 4096,
        procs: all,
        seenChildren: input.seenChildren ?? [],
        readIo: (pid) => io.get(pid),
        cgroup: input.cgroup ?? {},
        growthPerSecond: input.growthPerSecond ?? { tasks: 0, bytes: 0 },
        closeAsked: (pid) => input.closeAsked?.has(pid) ?? false,
        stdinClosable: (launcher) => input.stdinClosable?.has(launcher.pid) ?? false,
      },
      {
        config: this.config,
        initPid: INIT_PID,
        mainPid: MAIN_PID,
        dryRun: this.options.dryRun ?? false,
        ...(this.options.crashBudget === undefined ? {} : { crashBudget: this.options.crashBudget }),
      },
    );
    // Stops under way that the test passed in are its own: they do not outlive the scan.
    let state = result.state;
    if (input.inFlight) {
      const underWay = new Map(state.underWay);
      for (const id of input.inFlight.keys()) underWay.delete(id);
      state = { ...state, underWay };
    }
    this.state = state;
    return { ...result, state };
  }

  /** Ends a stop the model planned, as the loop does when it hears how it ended. */
  end(end: StopOutcome, nowMs: number): void {
    this.state = finishStop(this.state, end, nowMs);
  }
}

/** pids cgroup figures. */
export function pidsAt(currentTasks: number, maxTasks = 200): CgroupFigures {
  return { pids: { currentTasks, maxTasks, dir: '/' } };
}
