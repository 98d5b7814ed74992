// Real cgroup v1 controllers (pids, memory), enforced by the kernel as Docker's
// pids_limit and mem_limit are. Each is removed after its test, its processes killed.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { signalProc } from '../../src/proc/signal-proc.js';
import { refOf, TEST_ACCESS } from './procs.js';
import { waitFor } from './wait-for.js';

/** What every test cgroup offers. */
type TestCgroup = {
  path: string;
  /** A prefix for startInit that moves the init into this cgroup before it starts. */
  prefix: string[];
  pids: () => number[];
};

export type PidsCgroup = TestCgroup & { max: number; current: () => number };
export type MemoryCgroup = TestCgroup & { limitBytes: number; usageBytes: () => number; oomKills: () => number };

const made: string[] = [];

afterEach(async () => {
  // Innermost first: a cgroup with children cannot be removed.
  for (const path of made.splice(0).reverse()) await removeCgroup(path);
});

/** Creates a pids cgroup with pids.max = max, nested in `parent` when one is given. */
export function makePidsCgroup(max: number, parent?: PidsCgroup): PidsCgroup {
  const cgroup = makeCgroup('pids', { 'pids.max': String(max) }, parent?.path);
  return { ...cgroup, max, current: () => Number(readFileSync(`${cgroup.path}/pids.current`, 'utf8')) };
}

/** Creates a memory cgroup with memory.limit_in_bytes = limitBytes. */
export function makeMemoryCgroup(limitBytes: number): MemoryCgroup {
  const cgroup = makeCgroup('memory', { 'memory.limit_in_bytes': String(limitBytes) });
  return {
    ...cgroup,
    limitBytes,
    usageBytes: () => Number(readFileSync(`${cgroup.path}/memory.usage_in_bytes`, 'utf8')),
    oomKills: () => Number(/oom_kill (\d+)/.exec(readFileSync(`${cgroup.path}/memory.oom_control`, 'utf8'))?.[1] ?? 0),
  };
}

function makeCgroup(controller: string, settings: Record<string, string>, parentPath?: string): TestCgroup {
  const root = `/sys/fs/cgroup/${controller}`;
  if (!existsSync(`${root}/cgroup.procs`)) throw new Error(`no cgroup v1 ${controller} controller at ${root}`);
  const path = `${parentPath ?? root}/metamcp-init-test-${process.pid}-${made.length}-${Date.now()}`;
  mkdirSync(path);
  made.push(path);
  for (const [file, value] of Object.entries(settings)) writeFileSync(`${path}/${file}`, value);
  return {
    path,
    prefix: ['sh', '-c', `echo $$ > ${path}/cgroup.procs && exec "$@"`, 'sh'],
    pids: () => readPids(path),
  };
}

function readPids(path: string): number[] {
  return readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
}

async function removeCgroup(path: string): Promise<void> {
  // Only processes the test put in its own cgroup are in it.
  for (const pid of readPids(path)) {
    try {
      signalProc(refOf(pid), 'SIGKILL', TEST_ACCESS);
    } catch {
      // Gone already.
    }
  }
  await waitFor(() => readPids(path).length === 0, { what: `${path} to empty` });
  rmdirSync(path);
}
