// The server processes of an instance: the ones an interrupt (SIGINT) goes to. Pure: it
// reads the members a scan saw.

import type { ProcInfo } from '../proc/snapshot.js';
import type { Instance } from './instances.js';

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
