import { readIfStillRunning, signalProc } from '../proc/signal-proc.js';
import type { ProcInfo } from '../proc/snapshot.js';
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
 */
export async function stopInstance(instance: Instance, graceMs: number, pollMs = 50): Promise<StopResult> {
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
