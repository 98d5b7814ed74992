import type { ProcStat } from './snapshot.js';

/** Every descendant of `rootPid` (not itself), following ppid links. */
export function findDescendants(procs: ReadonlyMap<number, ProcStat>, rootPid: number): ProcStat[] {
  const childrenOf = new Map<number, ProcStat[]>();
  for (const proc of procs.values()) {
    const siblings = childrenOf.get(proc.ppid);
    if (siblings) siblings.push(proc);
    else childrenOf.set(proc.ppid, [proc]);
  }
  const found: ProcStat[] = [];
  const queue = [rootPid];
  const seen = new Set(queue);
  while (queue.length > 0) {
    for (const child of childrenOf.get(queue.pop()!) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}
