import type { ProcStat } from './snapshot.js';

/** The processes by their parent's pid. */
export function childrenByParent<P extends ProcStat>(procs: ReadonlyMap<number, P>): Map<number, P[]> {
  const children = new Map<number, P[]>();
  for (const proc of procs.values()) {
    const siblings = children.get(proc.ppid);
    if (siblings) siblings.push(proc);
    else children.set(proc.ppid, [proc]);
  }
  return children;
}

/** Every descendant of `rootPid` (not itself), following ppid links. */
export function findDescendants(procs: ReadonlyMap<number, ProcStat>, rootPid: number): ProcStat[] {
  const childrenOf = childrenByParent(procs);
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
