// Starts the bundled init the way a container or a developer does, and cleans up after it.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { readChildPids } from '../../src/proc/read-proc.js';
import type { ProcRef } from '../../src/proc/snapshot.js';
import { jsonLines } from './guard-log.js';
import { killTree, refOf, refOfSpawned } from './procs.js';
import { waitFor } from './wait-for.js';

export const BUNDLE = fileURLToPath(new URL('../../dist/metamcp-init.cjs', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** pid1: real PID 1 of a new PID namespace (unshare); subreaper: a plain process. */
export type Mode = 'pid1' | 'subreaper';

/**
 * The modes this machine can test. PID 1 needs root; it is skipped only when
 * METAMCP_INIT_SKIP_ROOT=1 says so, and the skip is printed.
 */
export const MODES: Mode[] = rootTestsEnabled() ? ['pid1', 'subreaper'] : ['subreaper'];

/** Whether tests that need root run; a skip must be asked for and is printed. */
export function rootTestsEnabled(): boolean {
  if (process.env.METAMCP_INIT_SKIP_ROOT === '1') {
    console.warn('SKIPPED: tests that need root (METAMCP_INIT_SKIP_ROOT=1)');
    return false;
  }
  if (process.getuid?.() !== 0) throw new Error('these tests need root (unshare, cgroups); set METAMCP_INIT_SKIP_ROOT=1 to skip them');
  return true;
}

export type StartOptions = {
  mode: Mode;
  initArgs?: string[];
  command: string[];
  env?: NodeJS.ProcessEnv;
  stdin?: 'pipe' | 'ignore';
  /** Runs before the init, e.g. ['sh', '-c', 'echo $$ > cgroup.procs; exec "$@"', 'sh']. */
  prefix?: string[];
  /** Runs the init itself under this, inside the namespace, e.g. setpriv to another user. */
  wrapInit?: string[];
  /** Node's own options for the init, e.g. ['--cpu-prof']. */
  nodeArgs?: string[];
};

export type RunningInit = {
  process: ChildProcess;
  stdout: () => Buffer;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The init's pid as seen from here (in pid1 mode, the namespace's PID 1). */
  initRef: () => Promise<ProcRef>;
  signal: (signal: NodeJS.Signals) => Promise<void>;
  waitForStdout: (text: string, timeoutMs?: number) => Promise<string>;
  logLines: () => Record<string, unknown>[];
};

const started: { process: ChildProcess; spawned: ProcRef | undefined; init?: ProcRef; mode: Mode }[] = [];

afterEach(() => {
  for (const run of started.splice(0)) cleanUp(run);
});

/** Starts `metamcp-init [initArgs] -- command` in the given mode. */
export function startInit(options: StartOptions): RunningInit {
  const { mode, initArgs = [], command, env, stdin = 'ignore', prefix = [], wrapInit = [], nodeArgs = [] } = options;
  const initCommand = [...wrapInit, process.execPath, ...nodeArgs, BUNDLE, '--log-format', 'json', ...initArgs, '--', ...command];
  const argv = [...prefix, ...(mode === 'pid1' ? ['unshare', '--pid', '--fork', '--mount-proc', ...initCommand] : initCommand)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const record: (typeof started)[number] = { process: child, spawned: refOfSpawned(child), mode };
  started.push(record);

  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });

  const initRef = async (): Promise<ProcRef> => {
    if (record.init) return record.init;
    record.init = await waitFor(() => findInit(child.pid!, mode), { what: 'the init to start' });
    return record.init;
  };

  return {
    process: child,
    stdout: () => Buffer.concat(out),
    stderr: () => err,
    exited,
    initRef,
    signal: async (signal) => {
      process.kill((await initRef()).pid, signal);
    },
    // 10 s was too short at load 19 on two cores: Node alone took seconds to start.
    waitForStdout: (text, timeoutMs = 30_000) =>
      waitFor(() => Buffer.concat(out).toString('utf8').includes(text) && Buffer.concat(out).toString('utf8'), {
        timeoutMs,
        what: `"${text}" on stdout; stderr: ${err.slice(-500)}`,
      }),
    logLines: () => jsonLines(err),
  };
}

/** Finds the init below what the test spawned: itself, or unshare's forked child. */
// A prefix execs into unshare or the init, so the spawned pid is one of them.
function findInit(spawnedPid: number, mode: Mode): ProcRef | undefined {
  if (mode === 'subreaper') return refOf(spawnedPid);
  const children = readChildPids(spawnedPid);
  return children && children.length > 0 ? refOf(children[0]!) : undefined;
}

function cleanUp(run: (typeof started)[number]): void {
  try {
    // In pid1 mode killing PID 1 makes the kernel kill the whole namespace.
    if (run.init) killTree(run.init);
    if (run.spawned) killTree(run.spawned);
  } catch {
    // Already gone.
  }
}
