import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { detectCgroupDirs, resolveCgroupDirs } from '../../src/cgroup/detect.js';
import { readCgroupFigures, readPidsCurrent } from '../../src/cgroup/read-figures.js';
import { readStat } from '../../src/proc/read-proc.js';
import { waitFor } from '../helpers/wait-for.js';

// The machine's writable cgroup v1 pids controller, as a container's pids_limit uses it.
const PIDS_MOUNT = '/sys/fs/cgroup/pids';
const isSkipped = process.env.METAMCP_INIT_SKIP_ROOT === '1';
if (isSkipped) console.warn('SKIPPED: test/cgroup/real-cgroup.test.ts needs root and a writable cgroup v1 pids controller (METAMCP_INIT_SKIP_ROOT=1)');

let made = 0;
const cgroups: string[] = [];
const sleepers: ChildProcess[] = [];

afterEach(async () => {
  try {
    for (const sleeper of sleepers.splice(0)) {
      if (sleeper.exitCode === null && sleeper.signalCode === null) {
        const exited = new Promise((resolve) => sleeper.once('exit', resolve));
        sleeper.kill('SIGKILL');
        await exited;
      }
    }
  } finally {
    // Innermost first: a cgroup with children cannot be removed.
    for (const dir of cgroups.splice(0).reverse()) {
      await waitFor(() => readFileSync(`${dir}/cgroup.procs`, 'utf8') === '', { what: `${dir} to empty` });
      rmdirSync(dir);
    }
  }
});

/** Creates a pids cgroup with pids.max = maxTasks; removed after the test. */
function makePidsCgroup(dir: string, maxTasks: number): string {
  mkdirSync(dir);
  cgroups.push(dir);
  writeFileSync(`${dir}/pids.max`, String(maxTasks));
  return dir;
}

/** Starts `sleep` inside a cgroup and resolves once it has exec'd there. */
async function startSleeperIn(dir: string): Promise<number> {
  const sleeper = spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec sleep 1000`], { stdio: 'ignore' });
  sleepers.push(sleeper);
  const pid = sleeper.pid;
  if (pid === undefined) throw new Error('spawn sh failed');
  await waitFor(() => readStat(pid)?.comm === 'sleep', { what: `sleep ${pid} to start in ${dir}` });
  return pid;
}

const resolveOf = (pid: number) => resolveCgroupDirs(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));

describe.runIf(!isSkipped)('cgroup v1 on the real kernel', () => {
  it('resolves the cgroup of a process moved into it and reads its pids limit', async () => {
    const dir = makePidsCgroup(`${PIDS_MOUNT}/metamcp-init-cgtest-${process.pid}-${made++}`, 50);
    const pid = await startSleeperIn(dir);

    const pids = resolveOf(pid).pids;
    expect(pids).toEqual({ version: 1, dir, mountPoint: PIDS_MOUNT });
    expect(readCgroupFigures({ pids })).toEqual({ pids: { currentTasks: 1, maxTasks: 50, dir } });
    expect(readPidsCurrent(dir)).toBe(1);
  });

  it('reports a tighter parent cgroup of a nested one', async () => {
    const outer = makePidsCgroup(`${PIDS_MOUNT}/metamcp-init-cgtest-${process.pid}-${made++}`, 50);
    const inner = makePidsCgroup(`${outer}/inner`, 100);
    const pid = await startSleeperIn(inner);

    const pids = resolveOf(pid).pids;
    expect(pids).toEqual({ version: 1, dir: inner, mountPoint: PIDS_MOUNT });
    expect(readCgroupFigures({ pids })).toEqual({ pids: { currentTasks: 1, maxTasks: 50, dir: outer } });
  });

  it("detects the cgroups that hold the test's own process", () => {
    const dirs = detectCgroupDirs();
    for (const cgroup of [dirs.pids, dirs.memory]) {
      expect(cgroup?.version).toBe(1);
      const procs = readFileSync(`${cgroup?.dir}/cgroup.procs`, 'utf8').split('\n').map(Number);
      expect(procs).toContain(process.pid);
    }
    // The root of a v1 pids hierarchy has no pids.current, so only memory is sure to read.
    const figures = readCgroupFigures(dirs);
    expect(figures.memory?.usageBytes).toBeGreaterThan(0);
    expect(figures.memory?.workingSetBytes).toBeLessThanOrEqual(figures.memory?.usageBytes ?? 0);
  });
});
