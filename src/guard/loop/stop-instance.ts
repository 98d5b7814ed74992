import { closeStdinOf, type StdinCloseAnswer } from '../../proc/close-stdin.js';
import { procRootOf } from '../../proc/proc-source.js';
import { readAllStats, readUptimeSeconds } from '../../proc/read-proc.js';
import { type ProcAccess, signalProc } from '../../proc/signal-proc.js';
import { isZombie, type ProcInfo, refKey } from '../../proc/snapshot.js';
import { type Grace, type StopTarget, terminateThenKill } from '../../proc/terminate-then-kill.js';
import { sleep } from '../../sleep.js';
import type { Instance } from '../instances.js';
import type { StopEnd, StopMethod } from '../stops.js';
import { aliveMembers, signalAll } from './signal-instance.js';

/**
 * A stdin close or an interrupt waits at most this long (and never more than the stop grace)
 * for the tree to go before TERM follows: the four real servers under `npx` exited 38-49 ms
 * after their stdin was closed on an idle machine.
 */
export const CLEAN_WAIT_MS = 2000;
/** SIGKILL is not instant for a process in uninterruptible sleep: this long for it, at most the grace. */
const KILL_WAIT_MS = 1000;
/** How long after the last sighting of the group with a member a late member may have started. */
const LATE_MARGIN_MS = 500;

/**
 * What stopping one instance took: `failed` counts signals the kernel refused (EPERM);
 * `endedBy` says what ended it: the stdin close alone, the interrupt alone, the TERM, or the
 * KILL after the grace. `close`: what the stdin close found, when one was tried.
 */
export type StopResult = {
  interrupted: number;
  termed: number;
  killed: number;
  failed: number;
  left: number;
  tookMs: number;
  endedBy: StopEnd;
  close?: { answer: StdinCloseAnswer; errno?: number };
};

export type StopOptions = {
  method: StopMethod;
  /** A close or an interrupt that did not end the tree is followed by TERM (Stop.terminateIfIgnored); otherwise the tree is left to run. */
  terminateIfIgnored?: boolean;
  graceMs: number;
  pollMs?: number;
  ticksPerSecond?: number;
  /** The /proc the scan read and the pidfds to signal through: every read, identity check and signal here uses them. */
  access: ProcAccess;
};

/**
 * When a member the scan saw was last seen in the instance's group: a process that started
 * after the group emptied joined another's group that took the same id, not this one.
 */
class GroupSightings {
  private lastMs = Date.now();
  constructor(readonly access: ProcAccess) {}
  /** The members still alive, noting the moment when there are any. */
  alive(instance: Instance): ProcInfo[] {
    const alive = aliveMembers(instance, this.access.source);
    if (alive.length > 0) this.lastMs = Date.now();
    return alive;
  }
  /** That moment, `laterMs` on, in clock ticks since boot (the unit of start times): one read of /proc/uptime. */
  ticksAfterLast(laterMs: number, ticksPerSecond: number): number {
    const uptimeSeconds = readUptimeSeconds(procRootOf(this.access.source)) ?? Number.POSITIVE_INFINITY;
    return Math.ceil((uptimeSeconds - (Date.now() - this.lastMs - laterMs) / 1000) * ticksPerSecond);
  }
}

/**
 * Stops one instance, by one deadline for all of its steps: the clean wait, the grace and the
 * KILL wait. What is still there at the deadline is left (`survived`), so a tree that ignores
 * EOF and traps TERM costs its own stop that long and no other.
 * - `close-stdin`: its launcher's stdin socket is shut down for reading (closeStdinOf): its
 *   server reads EOF and exits, its launcher with it. If the tree is not gone within
 *   CLEAN_WAIT_MS (at most the grace), or the close could not be made, the terminate path
 *   follows, unless `terminateIfIgnored` is false: then the tree is left to run (`survived`).
 * - `interrupt`: SIGINT to its server processes alone (serversOf), which many servers answer
 *   by exiting 0, and their launcher with them; then as for a close.
 * - `terminate`: TERM to its process group (and to members outside it, such as helpers that
 *   called setsid), `graceMs` for it to go, then KILL to every member left.
 * A tree none of whose members is left for a signal to reach is `gone`: not stopped by the guard.
 * Each pid is checked against its recorded start time before each signal, and the group
 * is signalled only while one of its recorded members is still in it, so a reused pid
 * or group id is never hit. When no signal at all could be sent, it gives up at once.
 * Then one look for members of the group that the scan did not see (lateMembers), and the
 * same stop for them, within what is left of the deadline.
 */
export async function stopInstance(instance: Instance, options: StopOptions): Promise<StopResult> {
  const { graceMs, pollMs = 50, ticksPerSecond = 100, access } = options;
  const startedAt = Date.now();
  const cleanUntil = startedAt + (options.method === 'terminate' ? 0 : Math.min(graceMs, CLEAN_WAIT_MS));
  const killWaitMs = Math.min(graceMs, KILL_WAIT_MS);
  const deadline = cleanUntil + graceMs + killWaitMs;
  const sightings = new GroupSightings(access);
  // A late member may have started a little after the last sighting, while the last member
  // exited: a poll, and the wait for the CPU of a loaded machine.
  const late = () => lateMembers(instance, sightings.ticksAfterLast(LATE_MARGIN_MS, ticksPerSecond), procRootOf(access.source));
  const nothingLeft = () => sightings.alive(instance).length === 0 && late().length === 0;
  const result = (endedBy: StopEnd, figures: Partial<StopResult> = {}): StopResult => ({
    interrupted: 0,
    termed: 0,
    killed: 0,
    failed: 0,
    left: 0,
    ...figures,
    tookMs: Date.now() - startedAt,
    endedBy,
  });
  // Nothing of it left for a signal to reach: the app closed it (after another stop's crash,
  // say) or it ended of itself, and the stop is no evidence of how the key takes one.
  if (nothingLeft()) return result('gone');
  const goneBy = async (untilMs: number): Promise<boolean> => {
    while (Date.now() < untilMs && sightings.alive(instance).length > 0) await sleep(pollMs);
    return nothingLeft();
  };
  let interrupted = 0;
  let close: StopResult['close'];
  if (options.method === 'close-stdin') {
    close = closeStdinOf(instance.launcher, access);
    // A tree the guard held (SIGSTOP) reads its EOF only once it goes on.
    if (close.answer === 'closed') signalAll(instance, 'SIGCONT', access);
    if (close.answer === 'closed' && (await goneBy(cleanUntil))) return result('close-stdin', { close });
  }
  if (options.method === 'interrupt') {
    for (const server of serversOf(instance)) if (signalProc(server, 'SIGINT', access) === 'sent') interrupted += 1;
    signalAll(instance, 'SIGCONT', access);
    if (interrupted > 0 && (await goneBy(cleanUntil))) return result('interrupt', { interrupted });
  }
  if (options.method !== 'terminate' && options.terminateIfIgnored === false) {
    // Ended meanwhile without the guard: seen when the app closed it after a sibling's crash.
    return nothingLeft() ? result('gone', { close }) : result('survived', { interrupted, close, left: sightings.alive(instance).length });
  }
  const grace = graceUntil(Math.min(Date.now() + graceMs, deadline - killWaitMs));
  const first = await stopMembers(instance, grace, killWaitMs, pollMs, sightings);
  const figures = { ...first, interrupted, close };
  const endedBy = (killed: number, left: number): StopEnd => (left > 0 && Date.now() >= deadline ? 'survived' : killed > 0 ? 'kill' : 'terminate');
  if (first.termed === 0 && first.failed > 0) return result(endedBy(first.killed, first.left), figures);
  const lateOnes = late();
  // Nothing was left for the TERM either: gone before the guard reached it.
  if (interrupted === 0 && close?.answer !== 'closed' && first.termed === 0 && first.killed === 0 && first.left === 0 && lateOnes.length === 0) {
    return result('gone', { close });
  }
  if (lateOnes.length === 0 || Date.now() >= deadline) return result(endedBy(first.killed, first.left), figures);
  const second = await stopMembers({ ...instance, members: lateOnes }, graceUntil(deadline - killWaitMs), killWaitMs, pollMs, sightings);
  const killed = first.killed + second.killed;
  const left = first.left + second.left;
  return result(endedBy(killed, left), {
    ...figures,
    termed: first.termed + second.termed,
    killed,
    failed: first.failed + second.failed,
    left,
  });
}

function graceUntil(endMs: number): Grace {
  return { isOver: () => Date.now() >= endMs };
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

/** TERM, the grace, KILL to the members left (terminateThenKill), each signal sent once. */
async function stopMembers(
  instance: Instance,
  grace: Grace,
  killWaitMs: number,
  pollMs: number,
  sightings: GroupSightings,
): Promise<{ termed: number; killed: number; failed: number; left: number }> {
  const sent = new Set<string>();
  const target: StopTarget = {
    left: () => sightings.alive(instance).length,
    signal: (signal) => {
      if (sent.has(signal)) return { sent: 0, failed: 0 };
      sent.add(signal);
      const outcome = signalAll(instance, signal, sightings.access);
      // A tree the guard held (SIGSTOP) acts on TERM only once it goes on.
      if (signal === 'SIGTERM') signalAll(instance, 'SIGCONT', sightings.access);
      return outcome;
    },
  };
  return terminateThenKill(target, { grace, killWaitMs, pollMs, giveUpIfRefused: true });
}

/**
 * Processes in the instance's group that are not among its members: forked after the scan,
 * mostly after the TERM, by a launcher that was starting its server at that moment. They
 * got no signal, and once the members the scan saw are gone the group is no longer
 * signalled; left alone, the server starts and fills memory (seen in the memory storm
 * test). While the group has members its id cannot be another's; once it empties, the id
 * is free, and a process that takes that pid and calls setsid leads a new group of the same
 * id. So: a leader of the group the scan did not see means the id is another's, and nothing
 * is late; a late member either started by `startedByTicks` (the group was last seen with a
 * member just before), or is the child of one that did (`npm exec` → `sh` → the server, the
 * server forked once the launcher had gone).
 */
export function lateMembers(instance: Instance, startedByTicks: number, procRoot: string): ProcInfo[] {
  const { pgid } = instance;
  if (pgid === undefined) return [];
  const procs = readAllStats(procRoot);
  const known = new Set(instance.members.map(refKey));
  const leader = procs.get(pgid);
  if (leader && !isZombie(leader) && !known.has(refKey(leader))) return [];
  const inGroup = [...procs.values()].filter(
    (proc) => proc.pgid === pgid && !known.has(refKey(proc)) && !isZombie(proc) && proc.startTicks >= instance.launcher.startTicks,
  );
  const late = new Map(inGroup.filter((proc) => proc.startTicks <= startedByTicks).map((proc) => [proc.pid, proc]));
  const knownPids = new Set(instance.members.map((member) => member.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const proc of inGroup) {
      if (late.has(proc.pid) || !(late.has(proc.ppid) || knownPids.has(proc.ppid))) continue;
      late.set(proc.pid, proc);
      grew = true;
    }
  }
  return [...late.values()].map((proc) => ({ ...proc, argv: [] }));
}
