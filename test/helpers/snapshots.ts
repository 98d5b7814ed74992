// Builders of synthetic snapshots for the pure guard tests.
import type { CgroupFigures } from '../../src/cgroup/figures.js';
import { DEFAULT_LAUNCHER_PATTERNS, compilePatterns } from '../../src/guard/launcher-patterns.js';
import type { GuardConfig, Snapshot } from '../../src/guard/policy.js';
import type { ProcInfo } from '../../src/proc/snapshot.js';

export const INIT_PID = 1;
export const MAIN_PID = 7;

/** A process; by default a sleeping single-threaded child of the init, started at tick = pid. */
export function makeProc(pid: number, overrides: Partial<ProcInfo> = {}): ProcInfo {
  return {
    pid, ppid: INIT_PID, pgid: pid, sid: pid, flags: 0, state: 'S', comm: 'proc', startTicks: pid,
    threads: 1, cpuTicks: 0, rssPages: 256, argv: ['proc'], ...overrides,
  };
}

/**
 * One MCP server launched the way MetaMCP does: `npm exec` (npm's one-string title)
 * leading its own session and group, under `parent`, → `sh -c` → node server.
 */
export function makeNpmTree(launcherPid: number, options: { parent?: number; pkg?: string; startTicks?: number; threads?: number; cpuTicks?: number } = {}): ProcInfo[] {
  const { parent = MAIN_PID, pkg = '@modelcontextprotocol/server-everything', startTicks = launcherPid, threads = 11, cpuTicks = 0 } = options;
  const group = { pgid: launcherPid, sid: launcherPid };
  return [
    makeProc(launcherPid, { ...group, ppid: parent, startTicks, comm: 'npm exec @model', argv: [`npm exec ${pkg}`], threads, cpuTicks }),
    makeProc(launcherPid + 1, { ...group, ppid: launcherPid, startTicks: startTicks + 1, comm: 'sh', argv: ['sh', '-c', 'mcp-server-everything'] }),
    makeProc(launcherPid + 2, { ...group, ppid: launcherPid + 1, startTicks: startTicks + 2, comm: 'node', argv: ['node', `/root/.npm/_npx/abc/node_modules/.bin/mcp-server-everything`], threads, cpuTicks }),
  ];
}

/** The init, the main child (MetaMCP's backend) and whatever else is given. */
export function makeSnapshot(procs: ProcInfo[], options: { nowMs?: number; cgroup?: CgroupFigures } = {}): Snapshot {
  const all = [
    makeProc(INIT_PID, { ppid: 0, comm: 'node', argv: ['node', '/opt/metamcp-init/metamcp-init.cjs', '--', './docker-entrypoint.sh'], threads: 8 }),
    makeProc(MAIN_PID, { comm: 'node', argv: ['node', 'dist/index.js'], threads: 11 }),
    ...procs,
  ];
  return {
    nowMs: options.nowMs ?? 1_000_000, initPid: INIT_PID, mainPid: MAIN_PID, pageBytes: 4096,
    procs: new Map(all.map((proc) => [proc.pid, proc])), cgroup: options.cgroup ?? {},
  };
}

/** The defaults of the CLI, with overrides. */
export function makeConfig(overrides: Partial<GuardConfig> = {}): GuardConfig {
  return {
    patterns: compilePatterns(DEFAULT_LAUNCHER_PATTERNS), maxPerCommand: 5, orphanGraceMs: 10_000, idleAfterMs: 60_000,
    pidsHeadroom: { percent: 20 }, memoryHeadroom: { percent: 10 }, headroomAny: false, ...overrides,
  };
}
