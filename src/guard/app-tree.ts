import { isZombie, type ProcInfo, refKey } from '../proc/snapshot.js';

/**
 * What the guard has seen of the app's processes, kept between scans: a process that the
 * app started is still the app's after its parent dies and it is reparented to the init.
 */
export type AppLineage = {
  /** refKeys of every process seen below the main child. */
  members: ReadonlySet<string>;
  /** Sessions and process groups led by such a process: their later members are the app's too. */
  sessions: ReadonlySet<number>;
  groups: ReadonlySet<number>;
};

export const EMPTY_LINEAGE: AppLineage = { members: new Set(), sessions: new Set(), groups: new Set() };

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
  const isProtected = (proc: ProcInfo) => proc.pid === initPid || proc.pid === mainPid;
  const children = new Map<number, ProcInfo[]>();
  for (const proc of procs.values()) {
    const siblings = children.get(proc.ppid);
    if (siblings) siblings.push(proc);
    else children.set(proc.ppid, [proc]);
  }

  const app = new Map<number, ProcInfo>();
  const roots: ProcInfo[] = mainPid === undefined ? [] : [...(children.get(mainPid) ?? [])];
  for (const proc of procs.values()) {
    if (isProtected(proc) || proc.ppid !== initPid) continue;
    const seen = lineage.members.has(refKey(proc));
    const inAppSession = !protectedIds.has(proc.sid) && lineage.sessions.has(proc.sid);
    const inAppGroup = !protectedIds.has(proc.pgid) && lineage.groups.has(proc.pgid);
    if (seen || inAppSession || inAppGroup) roots.push(proc);
  }
  for (let next = 0; next < roots.length; next += 1) {
    const proc = roots[next]!;
    if (isProtected(proc) || app.has(proc.pid)) continue;
    app.set(proc.pid, proc);
    roots.push(...(children.get(proc.pid) ?? []));
  }

  const members = new Set<string>();
  const sessions = new Set<number>();
  const groups = new Set<number>();
  const liveSessions = new Set<number>();
  const liveGroups = new Set<number>();
  for (const proc of procs.values()) {
    liveSessions.add(proc.sid);
    liveGroups.add(proc.pgid);
  }
  for (const proc of app.values()) {
    if (isZombie(proc)) continue;
    members.add(refKey(proc));
    if (proc.sid === proc.pid && !protectedIds.has(proc.sid)) sessions.add(proc.sid);
    if (proc.pgid === proc.pid && !protectedIds.has(proc.pgid)) groups.add(proc.pgid);
  }
  // A session or group id is kept while anything is still in it: the kernel does not reuse
  // the id until then, so nobody else can hold it.
  for (const sid of lineage.sessions) if (liveSessions.has(sid) && !protectedIds.has(sid)) sessions.add(sid);
  for (const pgid of lineage.groups) if (liveGroups.has(pgid) && !protectedIds.has(pgid)) groups.add(pgid);
  return { procs: app, protectedIds, lineage: { members, sessions, groups } };
}
