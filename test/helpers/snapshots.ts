// Builders of synthetic /proc snapshots for the pure guard tests, and a model of the guard's
// scan (app tree → instances → plan) that carries its memory from one snapshot to the next.
import type { CgroupFigures } from '../../src/cgroup/figures.js';
import { type AppLineage, EMPTY_LINEAGE, findAppTree } from '../../src/guard/app-tree.js';
import { commandKey } from '../../src/guard/command-key.js';
import { findInstances, type Instance, type KnownLauncher } from '../../src/guard/instances.js';
import { compilePatterns, DEFAULT_LAUNCHER_PATTERNS } from '../../src/guard/launcher-patterns.js';
import { EMPTY_POLICY_HISTORY, type GuardConfig, type InFlight, type Plan, type PolicyHistory, planStops } from '../../src/guard/policy.js';
import { type ProcInfo, refKey } from '../../src/proc/snapshot.js';

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
const DEFAULT_PATTERNS = compilePatterns(DEFAULT_LAUNCHER_PATTERNS);

/** The defaults of the CLI, with overrides. */
export function makeConfig(overrides: Partial<GuardConfig> = {}): GuardConfig {
  return {
    patterns: DEFAULT_PATTERNS,
    maxPerCommand: 8,
    orphanGraceMs: 10_000,
    idleAfterMs: 120_000,
    startGraceMs: 10_000,
    busyWithinMs: 1000,
    pidsHeadroom: { percent: 20 },
    memoryHeadroom: { percent: 10 },
    ...overrides,
  };
}

export type ScanInput = {
  /** Wall clock of the scan; processes started at tick N are N * 10 ms after boot, and boot is at 0. */
  nowMs: number;
  cgroup?: CgroupFigures;
  /** I/O bytes by pid (default: none readable). */
  io?: ReadonlyMap<number, number>;
  inFlight?: InFlight;
};

export type ScanResult = Plan & { instances: Instance[] };

/** The guard's scan as the loop runs it, with its memory kept between calls. */
export class GuardModel {
  lineage: AppLineage = EMPTY_LINEAGE;
  known: ReadonlyMap<string, KnownLauncher> = new Map();
  history: PolicyHistory = EMPTY_POLICY_HISTORY;

  constructor(readonly config: GuardConfig = makeConfig()) {}

  scan(procs: readonly ProcInfo[], input: ScanInput): ScanResult {
    const app = findAppTree({ procs: makeProcs(procs), initPid: INIT_PID, mainPid: MAIN_PID, lineage: this.lineage });
    this.lineage = app.lineage;
    const found = findInstances({ app, initPid: INIT_PID, patterns: this.config.patterns, known: this.known });
    this.known = found.known;
    const plan = planStops(
      {
        nowMs: input.nowMs,
        uptimeMs: input.nowMs,
        ticksPerSecond: TICKS_PER_SECOND,
        pageBytes: 4096,
        instances: found.instances,
        io: input.io ?? new Map(),
        cgroup: input.cgroup ?? {},
      },
      this.config,
      this.history,
      input.inFlight,
    );
    this.history = plan.history;
    return { ...plan, instances: found.instances };
  }
}

/** pids cgroup figures. */
export function pidsAt(currentTasks: number, maxTasks = 200): CgroupFigures {
  return { pids: { currentTasks, maxTasks, dir: '/' } };
}
