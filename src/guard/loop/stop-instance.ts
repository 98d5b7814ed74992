import { askNodeToExit } from '../../proc/ask-node-to-exit.js';
import { procRootOf } from '../../proc/proc-source.js';
import { readAllStats, readUptimeSeconds } from '../../proc/read-proc.js';
import { type ProcAccess, signalProc } from '../../proc/signal-proc.js';
import { isZombie, type ProcInfo, refKey } from '../../proc/snapshot.js';
import { graceOf, type StopTarget, terminateThenKill } from '../../proc/terminate-then-kill.js';
import { sleep } from '../../sleep.js';
import type { Instance } from '../instances.js';
import type { StopEnd, StopMethod } from '../stops.js';
import { aliveMembers, signalAll } from './signal-instance.js';

/** An interrupt waits at most this long (and never more than the stop grace) for the tree to go before TERM follows. */
export const INTERRUPT_WAIT_MS = 2000;
/**
 * An exit request waits at most this long (and never more than the stop grace) for the
 * launcher's inspector to open, take it, and the launcher to exit: about 40-70 ms for the real
 * `npm exec` on an idle machine, 360 ms once on a loaded one.
 */
export const EXIT_REQUEST_WAIT_MS = 3000;
/** After its launcher exited on request, its server and shell mostly end by themselves (the four real servers did, within 20 ms): this long before they are stopped. */
const LEFT_BEHIND_WAIT_MS = 500;
/** How long after the last sighting of the group with a member a late member may have started. */
const LATE_MARGIN_MS = 500;

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
  endedBy: StopEnd;
};

export type StopOptions = {
  method: StopMethod;
  /** An interrupt that did not end the tree is followed by TERM (Stop.terminateIfIgnored); otherwise the tree is left to run. */
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
 * Stops one instance.
 * - `exit`: its launcher is asked to exit 0 (askNodeToExit); once it has, what is left of the
 *   tree after LEFT_BEHIND_WAIT_MS goes by TERM, grace, KILL: orphans now, nobody counts them.
 *   If it did not exit, the terminate path follows, or, with `terminateIfIgnored` false, the
 *   tree is left to run (`survived`).
 * - `interrupt`: SIGINT to its server processes alone (serversOf), which many servers answer
 *   by exiting 0, and their launcher with them; if the tree is not gone within
 *   INTERRUPT_WAIT_MS (at most the grace), the terminate path follows, unless
 *   `terminateIfIgnored` is false: then the tree is left to run (`survived`).
 * - `terminate`: TERM to its process group (and to members outside it, such as helpers that
 *   called setsid), `graceMs` for it to go, then KILL to every member left.
 * A tree none of whose members is left for a signal to reach is `gone`: not stopped by the guard.
 * Each pid is checked against its recorded start time before each signal, and the group
 * is signalled only while one of its recorded members is still in it, so a reused pid
 * or group id is never hit. When no signal at all could be sent, it gives up at once.
 * Then one look for members of the group that the scan did not see (lateMembers), and the
 * same stop for them.
 */
export async function stopInstance(instance: Instance, options: StopOptions): Promise<StopResult> {
  const { graceMs, pollMs = 50, ticksPerSecond = 100, access } = options;
  const startedAt = Date.now();
  const sightings = new GroupSightings(access);
  // A late member may have started a little after the last sighting, while the last member
  // exited: a poll, and the wait for the CPU of a loaded machine.
  const late = () => lateMembers(instance, sightings.ticksAfterLast(LATE_MARGIN_MS, ticksPerSecond), procRootOf(access.source));
  // A request or an interrupt that did not end the tree, with no TERM allowed after it.
  const leftToRun = (interrupted: number): StopResult => ({
    interrupted,
    termed: 0,
    killed: 0,
    failed: 0,
    left: sightings.alive(instance).length,
    tookMs: Date.now() - startedAt,
    endedBy: 'survived',
  });
  // Nothing of it left for a signal to reach: the app closed it (after another stop's crash,
  // say) or it ended of itself, and the stop is no evidence of how the key takes one.
  const gone = (): StopResult => ({ interrupted: 0, termed: 0, killed: 0, failed: 0, left: 0, tookMs: Date.now() - startedAt, endedBy: 'gone' });
  const nothingLeft = () => sightings.alive(instance).length === 0 && late().length === 0;
  if (nothingLeft()) return gone();
  let interrupted = 0;
  if (options.method === 'exit') {
    const answer = await askNodeToExit(instance.launcher, access, { waitMs: Math.min(graceMs, EXIT_REQUEST_WAIT_MS) });
    if (answer === 'exited') {
      // What it leaves has no launcher now: an orphan, whose stop nobody counts.
      const deadline = Date.now() + Math.min(graceMs, LEFT_BEHIND_WAIT_MS);
      while (Date.now() < deadline && sightings.alive(instance).length > 0) await sleep(pollMs);
      const rest = sightings.alive(instance).length > 0 ? await stopMembers(instance, graceMs, pollMs, sightings) : undefined;
      return {
        interrupted: 0,
        termed: rest?.termed ?? 0,
        killed: rest?.killed ?? 0,
        failed: rest?.failed ?? 0,
        left: rest?.left ?? 0,
        tookMs: Date.now() - startedAt,
        endedBy: 'exit',
      };
    }
    // Ended without the request: seen when the app closed it after a sibling's crash meanwhile.
    if (options.terminateIfIgnored === false) return nothingLeft() ? gone() : leftToRun(0);
  }
  if (options.method === 'interrupt') {
    for (const server of serversOf(instance)) if (signalProc(server, 'SIGINT', access) === 'sent') interrupted += 1;
    // A tree the guard held (SIGSTOP) acts on nothing but KILL until it goes on.
    signalAll(instance, 'SIGCONT', access);
    if (interrupted > 0) {
      const deadline = startedAt + Math.min(graceMs, INTERRUPT_WAIT_MS);
      let left = sightings.alive(instance).length;
      while (Date.now() < deadline && left > 0) {
        await sleep(pollMs);
        left = sightings.alive(instance).length;
      }
      if (left === 0 && late().length === 0) {
        return { interrupted, termed: 0, killed: 0, failed: 0, left: 0, tookMs: Date.now() - startedAt, endedBy: 'interrupt' };
      }
    }
    // An interrupt that reached a server and saw the tree go returned above.
    if (options.terminateIfIgnored === false) return nothingLeft() ? gone() : leftToRun(interrupted);
  }
  const first = await stopMembers(instance, graceMs, pollMs, sightings);
  const endedBy = first.killed > 0 ? 'kill' : 'terminate';
  if (first.termed === 0 && first.failed > 0) return { ...first, interrupted, tookMs: Date.now() - startedAt, endedBy };
  const lateOnes = late();
  // Nothing was left for the TERM either: gone before the guard reached it.
  if (interrupted === 0 && first.termed === 0 && first.killed === 0 && first.left === 0 && lateOnes.length === 0) return gone();
  if (lateOnes.length === 0) return { ...first, interrupted, tookMs: Date.now() - startedAt, endedBy };
  const second = await stopMembers({ ...instance, members: lateOnes }, graceMs, pollMs, sightings);
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

/** TERM, the grace, KILL to the members left (terminateThenKill), each signal sent once. */
async function stopMembers(
  instance: Instance,
  graceMs: number,
  pollMs: number,
  sightings: GroupSightings,
): Promise<Omit<StopResult, 'interrupted' | 'endedBy'>> {
  const startedAt = Date.now();
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
  // SIGKILL is not instant for a process in uninterruptible sleep: a moment for it.
  const result = await terminateThenKill(target, { grace: graceOf(graceMs), killWaitMs: Math.min(graceMs, 1000), pollMs, giveUpIfRefused: true });
  return { ...result, tookMs: Date.now() - startedAt };
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
