import { isZombie, type ProcInfo, type ProcStat, refKey } from '../proc/snapshot.js';
import { childrenByParent } from '../proc/tree.js';

/**
 * What the guard has seen of the app's processes, kept between scans: a process that the
 * app started is still the app's after its parent dies and it is reparented to the init.
 */
export type AppLineage = {
  /** refKeys of every process seen below the main child. */
  members: ReadonlySet<string>;
  /**
   * Sessions and process groups led by such a process, by id, with the start ticks of the
   * process whose pid the id is: their later members are the app's too, while no other
   * process holds that pid (which would mean the id was free and taken anew).
   */
  sessions: ReadonlyMap<number, number>;
  groups: ReadonlyMap<number, number>;
};

export const EMPTY_LINEAGE: AppLineage = { members: new Set(), sessions: new Map(), groups: new Map() };

/**
 * Adds children of the app that the polls saw between two scans (see child-watch.ts): a
 * launcher that lived less than a scan still leaves its servers in the session and group it
 * created with its own pid, so those ids are the app's while the child lives or while
 * something is in them.
 */
export function adoptSeenChildren(lineage: AppLineage, children: readonly ProcStat[]): AppLineage {
  if (children.length === 0) return lineage;
  const members = new Set(lineage.members);
  const sessions = new Map(lineage.sessions);
  const groups = new Map(lineage.groups);
  for (const child of children) {
    members.add(refKey(child));
    if (!sessions.has(child.pid)) sessions.set(child.pid, child.startTicks);
    if (!groups.has(child.pid)) groups.set(child.pid, child.startTicks);
  }
  return { members, sessions, groups };
}

export type AppTreeInput = {
  procs: ReadonlyMap<number, ProcInfo>;
  initPid: number;
  mainPid?: number;
  lineage: AppLineage;
};

/** The app's processes now, and what to remember of them for the next scan. */
export type AppTree = {
  /** Processes the app started, by pid: never the init, the main child, or their group or session. */
  procs: Map<number, ProcInfo>;
  /** The init's and the main child's groups and sessions: never signalled as a group. */
  protectedIds: ReadonlySet<number>;
  lineage: AppLineage;
};

/**
 * Finds the processes that belong to the app: the main child's descendants, and processes
 * reparented to the init that the guard saw below the main child or that sit in a session
 * or group that such a process created (a server whose launcher died between two scans).
 * Anything else, such as what `docker exec` left behind, is not the app's: the guard never
 * touches it, and the init only reaps it.
 */
export function findAppTree({ procs, initPid, mainPid, lineage }: AppTreeInput): AppTree {
  const init = procs.get(initPid);
  const main = mainPid === undefined ? undefined : procs.get(mainPid);
  // Pid 0 is what /proc shows for a session or group led from outside the pid namespace.
  const protectedIds = new Set([0, 1, initPid, init?.pgid, init?.sid, mainPid, main?.pgid, main?.sid].filter((id): id is number => id !== undefined));
  const ours = (ids: ReadonlyMap<number, number>, id: number) => isOurs(procs, protectedIds, ids, id);
  const app = new Map<number, ProcInfo>();
  const children = childrenByParent(procs);
  const isProtected = (proc: ProcInfo) => proc.pid === initPid || proc.pid === mainPid;
  const roots: ProcInfo[] = mainPid === undefined ? [] : [...(children.get(mainPid) ?? [])];
  for (const proc of procs.values()) {
    if (isProtected(proc) || proc.ppid !== initPid) continue;
    if (lineage.members.has(refKey(proc)) || ours(lineage.sessions, proc.sid) || ours(lineage.groups, proc.pgid)) roots.push(proc);
  }
  for (let next = 0; next < roots.length; next += 1) {
    const proc = roots[next]!;
    if (isProtected(proc) || app.has(proc.pid)) continue;
    app.set(proc.pid, proc);
    roots.push(...(children.get(proc.pid) ?? []));
  }
  return { procs: app, protectedIds, lineage: nextLineage(procs, app, protectedIds, lineage) };
}

/** An id recorded with its leader's start ticks is ours only while no other process holds that pid. */
function isOurs(procs: ReadonlyMap<number, ProcInfo>, protectedIds: ReadonlySet<number>, ids: ReadonlyMap<number, number>, id: number): boolean {
  const ticks = ids.get(id);
  if (ticks === undefined || protectedIds.has(id)) return false;
  const holder = procs.get(id);
  return holder === undefined || holder.startTicks === ticks;
}

/** What to remember of the app for the next scan: its live members, and the sessions and groups they lead or led. */
function nextLineage(
  procs: ReadonlyMap<number, ProcInfo>,
  app: ReadonlyMap<number, ProcInfo>,
  protectedIds: ReadonlySet<number>,
  before: AppLineage,
): AppLineage {
  const members = new Set<string>();
  const sessions = new Map<number, number>();
  const groups = new Map<number, number>();
  for (const proc of app.values()) {
    if (isZombie(proc)) continue;
    members.add(refKey(proc));
    if (proc.sid === proc.pid && !protectedIds.has(proc.sid)) sessions.set(proc.sid, proc.startTicks);
    if (proc.pgid === proc.pid && !protectedIds.has(proc.pgid)) groups.set(proc.pgid, proc.startTicks);
  }
  const liveSessions = new Set<number>();
  const liveGroups = new Set<number>();
  for (const proc of procs.values()) {
    liveSessions.add(proc.sid);
    liveGroups.add(proc.pgid);
  }
  // A session or group id is kept while anything is still in it (the kernel does not reuse
  // the id until then, so nobody else can hold it), or while the process whose pid it is
  // still runs (a child seen by the polls that has not called setsid yet).
  const keep = (from: ReadonlyMap<number, number>, into: Map<number, number>, live: ReadonlySet<number>) => {
    for (const [id, ticks] of from) {
      if (into.has(id) || !isOurs(procs, protectedIds, from, id)) continue;
      if (live.has(id) || procs.get(id)?.startTicks === ticks) into.set(id, ticks);
    }
  };
  keep(before.sessions, sessions, liveSessions);
  keep(before.groups, groups, liveGroups);
  return { members, sessions, groups };
}
