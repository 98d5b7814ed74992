// A real cgroup v1 pids controller, enforced by the kernel as Docker's pids_limit is.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { signalProc } from '../../src/proc/signal-proc.js';
import { refOf } from './procs.js';
import { waitFor } from './wait-for.js';

const PIDS_ROOT = '/sys/fs/cgroup/pids';

export type PidsCgroup = {
  path: string;
  current: () => number;
  max: number;
  /** A prefix for startInit that moves the init into this cgroup before it starts. */
  prefix: string[];
  pids: () => number[];
};

const made: string[] = [];

afterEach(async () => {
  for (const path of made.splice(0)) await removeCgroup(path);
});

/** Creates a pids cgroup with pids.max = max; removed (its processes killed) after the test. */
export function makePidsCgroup(max: number): PidsCgroup {
  if (!existsSync(`${PIDS_ROOT}/pids.current`) && !existsSync(`${PIDS_ROOT}/cgroup.procs`)) {
    throw new Error(`no cgroup v1 pids controller at ${PIDS_ROOT}`);
  }
  const path = `${PIDS_ROOT}/metamcp-init-test-${process.pid}-${made.length}-${Date.now()}`;
  mkdirSync(path);
  made.push(path);
  writeFileSync(`${path}/pids.max`, String(max));
  return {
    path,
    max,
    current: () => Number(readFileSync(`${path}/pids.current`, 'utf8')),
    prefix: ['sh', '-c', `echo $$ > ${path}/cgroup.procs && exec "$@"`, 'sh'],
    pids: () => readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number),
  };
}

async function removeCgroup(path: string): Promise<void> {
  const pids = () => readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  // Only processes the test put in its own cgroup are in it.
  for (const pid of pids()) {
    try {
      signalProc(refOf(pid), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await waitFor(() => pids().length === 0, { what: `${path} to empty` });
  rmdirSync(path);
}

const MEMORY_ROOT = '/sys/fs/cgroup/memory';

export type MemoryCgroup = { path: string; limitBytes: number; usageBytes: () => number; oomKills: () => number; prefix: string[] };

/** Creates a cgroup v1 memory controller with a limit; removed (its processes killed) after the test. */
export function makeMemoryCgroup(limitBytes: number): MemoryCgroup {
  if (!existsSync(`${MEMORY_ROOT}/cgroup.procs`)) throw new Error(`no cgroup v1 memory controller at ${MEMORY_ROOT}`);
  const path = `${MEMORY_ROOT}/metamcp-init-test-${process.pid}-${made.length}-${Date.now()}`;
  mkdirSync(path);
  made.push(path);
  writeFileSync(`${path}/memory.limit_in_bytes`, String(limitBytes));
  return {
    path,
    limitBytes,
    usageBytes: () => Number(readFileSync(`${path}/memory.usage_in_bytes`, 'utf8')),
    oomKills: () => Number(/oom_kill (\d+)/.exec(readFileSync(`${path}/memory.oom_control`, 'utf8'))?.[1] ?? 0),
    prefix: ['sh', '-c', `echo $$ > ${path}/cgroup.procs && exec "$@"`, 'sh'],
  };
}
