import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectCgroupDirs, resolveCgroupDirs } from '../../src/cgroup/detect.js';
import { readCgroupFigures, readPidsCurrent } from '../../src/cgroup/read-figures.js';
import { readStat } from '../../src/proc/read-proc.js';
import { makePidsCgroup, type PidsCgroup } from '../helpers/cgroups.js';
import { waitFor } from '../helpers/wait-for.js';

// The machine's writable cgroup v1 pids controller, as a container's pids_limit uses it.
const PIDS_MOUNT = '/sys/fs/cgroup/pids';
const isSkipped = process.env.METAMCP_INIT_SKIP_ROOT === '1';
if (isSkipped) console.warn('SKIPPED: test/cgroup/real-cgroup.test.ts needs root and a writable cgroup v1 pids controller (METAMCP_INIT_SKIP_ROOT=1)');

/** Starts `sleep` inside a cgroup and resolves once it has exec'd there; the cgroup's removal kills it. */
async function startSleeperIn(cgroup: PidsCgroup): Promise<number> {
  const [command, ...args] = [...cgroup.prefix, 'sleep', '1000'];
  const pid = spawn(command!, args, { stdio: 'ignore' }).pid;
  if (pid === undefined) throw new Error(`spawn ${command} failed`);
  await waitFor(() => readStat(pid)?.comm === 'sleep', { what: `sleep ${pid} to start in ${cgroup.path}` });
  return pid;
}

const resolveOf = (pid: number) => resolveCgroupDirs(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));

describe.runIf(!isSkipped)('cgroup v1 on the real kernel', () => {
  it('resolves the cgroup of a process moved into it and reads its pids limit', async () => {
    const cgroup = makePidsCgroup(50);
    const dir = cgroup.path;
    const pid = await startSleeperIn(cgroup);

    const pids = resolveOf(pid).pids;
    expect(pids).toEqual({ version: 1, dir, mountPoint: PIDS_MOUNT });
    expect(readCgroupFigures({ pids })).toEqual({ pids: { currentTasks: 1, maxTasks: 50, dir } });
    expect(readPidsCurrent(dir)).toBe(1);
  });

  it('reports a tighter parent cgroup of a nested one', async () => {
    const outer = makePidsCgroup(50);
    const inner = makePidsCgroup(100, outer);
    const pid = await startSleeperIn(inner);

    const pids = resolveOf(pid).pids;
    expect(pids).toEqual({ version: 1, dir: inner.path, mountPoint: PIDS_MOUNT });
    expect(readCgroupFigures({ pids })).toEqual({ pids: { currentTasks: 1, maxTasks: 50, dir: outer.path } });
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
