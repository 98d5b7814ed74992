import { readIfStillRunning, signalProc } from '../proc/signal-proc.js';
import type { ProcInfo } from '../proc/snapshot.js';
import type { Instance } from './instances.js';
import { sleep } from '../sleep.js';

/** What stopping one instance took. */
export type StopResult = { termed: number; killed: number; tookMs: number };

/**
 * Stops one instance: TERM to its process group (and to members outside it, such as
 * helpers that called setsid), `graceMs` for it to go, then KILL to every member left.
 * Each pid is checked against its recorded start time before each signal, and the group
 * is signalled only while one of its recorded members is still in it, so a reused pid
 * or group id is never hit.
 */
export async function stopInstance(instance: Instance, graceMs: number, pollMs = 50): Promise<StopResult> {
  const startedAt = Date.now();
  const termed = signalAll(instance, 'SIGTERM');
  const deadline = startedAt + graceMs;
  while (Date.now() < deadline && aliveMembers(instance).length > 0) await sleep(pollMs);
  const killed = aliveMembers(instance).length > 0 ? signalAll(instance, 'SIGKILL') : 0;
  return { termed, killed, tookMs: Date.now() - startedAt };
}

function signalAll(instance: Instance, signal: NodeJS.Signals): number {
  const alive = aliveMembers(instance);
  let sent = 0;
  const { pgid } = instance;
  if (pgid !== undefined && alive.some((member) => member.pgid === pgid)) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // ESRCH: the group emptied since the check.
    }
  }
  for (const member of alive) {
    // Group members got it through the group; one signal each is enough.
    if (member.pgid === pgid && pgid !== undefined) {
      sent += 1;
      continue;
    }
    if (signalProc(member, signal) === 'sent') sent += 1;
  }
  return sent;
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
