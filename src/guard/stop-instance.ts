import { readAllStats } from '../proc/read-proc.js';
import { readIfStillRunning, signalProc } from '../proc/signal-proc.js';
import { isZombie, type ProcInfo, refKey } from '../proc/snapshot.js';
import { sleep } from '../sleep.js';
import type { Instance } from './instances.js';

/** What stopping one instance took: `failed` counts signals the kernel refused (EPERM). */
export type StopResult = { termed: number; killed: number; failed: number; left: number; tookMs: number };

/**
 * Stops one instance: TERM to its process group (and to members outside it, such as
 * helpers that called setsid), `graceMs` for it to go, then KILL to every member left.
 * Each pid is checked against its recorded start time before each signal, and the group
 * is signalled only while one of its recorded members is still in it, so a reused pid
 * or group id is never hit. When no signal at all could be sent, it gives up at once.
 * Then one look for members of the group that the scan did not see (lateMembers), and the
 * same stop for them.
 */
export async function stopInstance(instance: Instance, graceMs: number, pollMs = 50): Promise<StopResult> {
  const startedAt = Date.now();
  const first = await stopMembers(instance, graceMs, pollMs);
  if (first.termed === 0 && first.failed > 0) return first;
  const late = lateMembers(instance);
  if (late.length === 0) return first;
  const second = await stopMembers({ ...instance, members: late }, graceMs, pollMs);
  return {
    termed: first.termed + second.termed,
    killed: first.killed + second.killed,
    failed: first.failed + second.failed,
    left: first.left + second.left,
    tookMs: Date.now() - startedAt,
  };
}

async function stopMembers(instance: Instance, graceMs: number, pollMs: number): Promise<StopResult> {
  const startedAt = Date.now();
  const term = signalAll(instance, 'SIGTERM');
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

function signalAll(instance: Instance, signal: NodeJS.Signals): { sent: number; failed: number } {
  const alive = aliveMembers(instance);
  let sent = 0;
  let failed = 0;
  const { pgid } = instance;
  let groupSent = false;
  if (pgid !== undefined && alive.some((member) => member.pgid === pgid)) {
    try {
      process.kill(-pgid, signal);
      groupSent = true;
    } catch {
      // ESRCH: the group emptied since the check; EPERM: each member is tried below.
    }
  }
  for (const member of alive) {
    // Group members got it through the group; one signal each is enough.
    if (groupSent && member.pgid === pgid) {
      sent += 1;
      continue;
    }
    const outcome = signalProc(member, signal);
    if (outcome === 'sent') sent += 1;
    else if (outcome === 'failed') failed += 1;
  }
  return { sent, failed };
}

/** Members still running as the same processes, with their current group. */
function aliveMembers(instance: Instance): ProcInfo[] {
  const alive: ProcInfo[] = [];
  for (const member of instance.members) {
    const now = readIfStillRunning(member);
    if (now) alive.push({ ...member, pgid: now.pgid });
  }
  return alive;
}
