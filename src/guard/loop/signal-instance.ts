import type { ProcSource } from '../../proc/proc-source.js';
import { type ProcAccess, readIfStillRunning, signalProc } from '../../proc/signal-proc.js';
import type { ProcInfo } from '../../proc/snapshot.js';
import type { Instance } from '../instances.js';

/**
 * Sends `signal` to an instance: to its process group when the launcher leads it and one of
 * its recorded members is still in it (a reused group id is never hit: the kernel gives no
 * new process an id in use), and to each member outside it, each checked against its
 * recorded start time. `failed` counts the signals the kernel refused (EPERM).
 */
export function signalAll(instance: Instance, signal: NodeJS.Signals, access: ProcAccess): { sent: number; failed: number } {
  const alive = aliveMembers(instance, access.source);
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
    const outcome = signalProc(member, signal, access);
    if (outcome === 'sent') sent += 1;
    else if (outcome === 'failed') failed += 1;
  }
  return { sent, failed };
}

/** Members still running as the same processes, with their current group. */
export function aliveMembers(instance: Instance, source: ProcSource): ProcInfo[] {
  const alive: ProcInfo[] = [];
  for (const member of instance.members) {
    const now = readIfStillRunning(member, source);
    if (now) alive.push({ ...member, pgid: now.pgid });
  }
  return alive;
}
