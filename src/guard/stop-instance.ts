import { readAllStats } from '../proc/read-proc.js';
import { signalProc } from '../proc/signal-proc.js';
import { isZombie, type ProcInfo, refKey } from '../proc/snapshot.js';
import { sleep } from '../sleep.js';
import type { Instance } from './instances.js';
import { aliveMembers, signalAll } from './signal-instance.js';
import type { StopMethod } from './stops.js';

/** An interrupt waits at most this long (and never more than the stop grace) for the tree to go before TERM follows. */
export const INTERRUPT_WAIT_MS = 2000;

/**
 * What stopping one instance took: `failed` counts signals the kernel refused (EPERM);
 * `endedBy` says what ended it: the interrupt alone, the TERM, or the KILL after the grace.
 */
export type StopResult = {
  interrupted: number;
  termed: number;
  killed: number;
  failed: number;
  left: number;
  tookMs: number;
  endedBy: StopMethod | 'kill';
};

export type StopOptions = { method: StopMethod; graceMs: number; pollMs?: number };

/**
 * Stops one instance.
 * - `interrupt`: SIGINT to its server processes alone (serversOf), which many servers answer
 *   by exiting 0, and their launcher with them; if the tree is not gone within
 *   INTERRUPT_WAIT_MS (at most the grace), the terminate path follows.
 * - `terminate`: TERM to its process group (and to members outside it, such as helpers that
 *   called setsid), `graceMs` for it to go, then KILL to every member left.
 * Each pid is checked against its recorded start time before each signal, and the group
 * is signalled only while one of its recorded members is still in it, so a reused pid
 * or group id is never hit. When no signal at all could be sent, it gives up at once.
 * Then one look for members of the group that the scan did not see (lateMembers), and the
 * same stop for them.
 */
export async function stopInstance(instance: Instance, options: StopOptions): Promise<StopResult> {
  const { graceMs, pollMs = 50 } = options;
  const startedAt = Date.now();
  let interrupted = 0;
  if (options.method === 'interrupt') {
    for (const server of serversOf(instance)) if (signalProc(server, 'SIGINT') === 'sent') interrupted += 1;
    // A tree the guard held (SIGSTOP) acts on nothing but KILL until it goes on.
    signalAll(instance, 'SIGCONT');
    if (interrupted > 0) {
      const deadline = startedAt + Math.min(graceMs, INTERRUPT_WAIT_MS);
      while (Date.now() < deadline && aliveMembers(instance).length > 0) await sleep(pollMs);
      if (aliveMembers(instance).length === 0 && lateMembers(instance).length === 0) {
        return { interrupted, termed: 0, killed: 0, failed: 0, left: 0, tookMs: Date.now() - startedAt, endedBy: 'interrupt' };
      }
    }
  }
  const first = await stopMembers(instance, graceMs, pollMs);
  const endedBy = first.killed > 0 ? 'kill' : 'terminate';
  if (first.termed === 0 && first.failed > 0) return { ...first, interrupted, tookMs: Date.now() - startedAt, endedBy };
  const late = lateMembers(instance);
  if (late.length === 0) return { ...first, interrupted, tookMs: Date.now() - startedAt, endedBy };
  const second = await stopMembers({ ...instance, members: late }, graceMs, pollMs);
  return {
    interrupted,
    termed: first.termed + second.termed,
    killed: first.killed + second.killed,
    failed: first.failed + second.failed,
    left: first.left + second.left,
    tookMs: Date.now() - startedAt,
    endedBy: first.killed + second.killed > 0 ? 'kill' : 'terminate',
  };
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh']);

/**
 * The server processes of an instance: below the launcher, through the shells it runs them
 * with (`npm exec` → `sh -c` → `node …/mcp-server`), the first process that is neither; the
 * launcher itself when it has no child (a server matched directly).
 */
export function serversOf(instance: Pick<Instance, 'members' | 'launcher' | 'launcherAlive'>): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const member of instance.members) children.set(member.ppid, [...(children.get(member.ppid) ?? []), member]);
  const launcher = instance.members.find((member) => member.pid === instance.launcher.pid && member.startTicks === instance.launcher.startTicks);
  if (!launcher || !instance.launcherAlive) return [];
  const servers: ProcInfo[] = [];
  const descend = (proc: ProcInfo) => {
    const below = children.get(proc.pid) ?? [];
    if (below.length === 0) servers.push(proc);
    for (const child of below) {
      if (SHELLS.has(child.comm)) descend(child);
      else servers.push(child);
    }
  };
  descend(launcher);
  return servers;
}

async function stopMembers(instance: Instance, graceMs: number, pollMs: number): Promise<Omit<StopResult, 'interrupted' | 'endedBy'>> {
  const startedAt = Date.now();
  const term = signalAll(instance, 'SIGTERM');
  signalAll(instance, 'SIGCONT');
  if (term.sent === 0 && term.failed > 0)
    return { termed: 0, killed: 0, failed: term.failed, left: aliveMembers(instance).length, tookMs: Date.now() - startedAt };
  const deadline = startedAt + graceMs;
  while (Date.now() < deadline && aliveMembers(instance).length > 0) await sleep(pollMs);
  const kill = aliveMembers(instance).length > 0 ? signalAll(instance, 'SIGKILL') : { sent: 0, failed: 0 };
  if (kill.sent > 0) {
    // SIGKILL is not instant for a process in uninterruptible sleep: give it a moment.
    const killDeadline = Date.now() + Math.min(graceMs, 1000);
    while (Date.now() < killDeadline && aliveMembers(instance).length > 0) await sleep(pollMs);
  }
  return { termed: term.sent, killed: kill.sent, failed: term.failed + kill.failed, left: aliveMembers(instance).length, tookMs: Date.now() - startedAt };
}

/**
 * Processes in the instance's group that are not among its members: forked after the scan,
 * mostly after the TERM, by a launcher that was starting its server at that moment. They
 * got no signal, and once the members the scan saw are gone the group is no longer
 * signalled; left alone, the server starts and fills memory (seen in the memory storm
 * test). A group that still has members cannot be another's (the kernel gives no new
 * process a pid in use as a group id), and the launcher leads a session of its own, which
 * nothing outside its tree can join.
 */
function lateMembers(instance: Instance): ProcInfo[] {
  const { pgid } = instance;
  if (pgid === undefined) return [];
  const known = new Set(instance.members.map(refKey));
  const late: ProcInfo[] = [];
  for (const proc of readAllStats().values()) {
    if (proc.pgid === pgid && !known.has(refKey(proc)) && !isZombie(proc) && proc.startTicks >= instance.launcher.startTicks) late.push({ ...proc, argv: [] });
  }
  return late;
}
