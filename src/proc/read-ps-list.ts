import type { ProcessDescriptor } from 'ps-list';
import type { ProcInfo } from './snapshot.js';

// Start times from `ps` are whole seconds; ticks of 10 ms keep them comparable with /proc's.
const TICKS_PER_SECOND = 100;

/**
 * Turns ps-list's descriptors into the /proc model, for systems without /proc (a developer's
 * macOS). ps gives no process group, session, threads or CPU ticks: they read as unknown
 * (-1, 1, 0), so groups and sessions are not followed and nothing there is ever idle.
 */
export function procsFromPsList(descriptors: readonly ProcessDescriptor[]): Map<number, ProcInfo> {
  const procs = new Map<number, ProcInfo>();
  for (const d of descriptors) {
    procs.set(d.pid, {
      pid: d.pid,
      ppid: d.ppid,
      pgid: -1,
      sid: -1,
      flags: 0,
      state: 'S',
      comm: d.name,
      startTicks: d.startTime ? Math.floor((d.startTime.getTime() / 1000) * TICKS_PER_SECOND) : 0,
      threads: 1,
      cpuTicks: 0,
      rssPages: 0,
      argv: d.cmd ? [d.cmd] : [d.name],
    });
  }
  return procs;
}

/**
 * Lists processes with ps-list, which runs `ps`. Only for systems without /proc: on Linux
 * the guard never spawns, since at the pids limit `ps` cannot start (docs/facts.md).
 */
export async function readProcsWithPsList(): Promise<Map<number, ProcInfo>> {
  const { default: psList } = await import('ps-list');
  return procsFromPsList(await psList());
}
