import { commandKey, commandLine } from './command-key.js';
import { isLauncherCommand } from './launcher-patterns.js';
import { hasNotExeced, isZombie, refKey, type ProcInfo, type ProcRef } from '../proc/snapshot.js';

/** A launcher seen once, remembered so its tree is still known after it dies. */
export type KnownLauncher = {
  ref: ProcRef;
  key: string;
  /** It led its process group / session: their members belong to the instance. */
  ledGroup: boolean;
  ledSession: boolean;
  /** refKeys of every member seen so far: a helper that called setsid and lost its parent is still one. */
  memberRefs: ReadonlySet<string>;
};

/** One launched MCP server: a launcher's tree plus what is left in its group or session. */
export type Instance = {
  /** `pid:startTicks` of the launcher, stable after it dies. */
  id: string;
  key: string;
  launcher: ProcRef;
  launcherAlive: boolean;
  /** The launcher died or lost its parent: nobody can talk to this server any more. */
  orphaned: boolean;
  /** Live members (zombies cannot be signalled), launcher first when alive. */
  members: readonly ProcInfo[];
  /** The process group to signal, when the launcher led one. */
  pgid?: number;
  tasks: number;
  rssPages: number;
  cpuTicks: number;
};

export type FindInstancesInput = {
  procs: ReadonlyMap<number, ProcInfo>;
  initPid: number;
  mainPid?: number;
  patterns: readonly RegExp[];
  known: ReadonlyMap<string, KnownLauncher>;
};

/**
 * Finds every MCP instance in a snapshot, and the launchers to remember for the next one.
 * A launcher is a matching process with no matching ancestor; the init and the main child
 * are never members, and neither is anything outside a launcher's tree, group or session.
 */
export function findInstances(input: FindInstancesInput): { instances: Instance[]; known: Map<string, KnownLauncher> } {
  const { procs, initPid, mainPid, patterns } = input;
  const index = indexProcs(procs);
  const isProtected = (pid: number) => pid === initPid || pid === mainPid;
  const claimed = new Set<number>();
  const instances: Instance[] = [];
  const known = new Map<string, KnownLauncher>();

  const claim = (launcher: KnownLauncher, alive: ProcInfo | undefined): void => {
    const queue: ProcInfo[] = alive ? [alive] : [];
    // A dead launcher's pid taken by a new process means its group and session ids were
    // free to reuse, so whoever holds them now is not ours (the kernel keeps a pid while a
    // group or session still has that id).
    const holder = procs.get(launcher.ref.pid);
    const reused = holder !== undefined && holder.startTicks !== launcher.ref.startTicks;
    if (launcher.ledGroup && !reused) queue.push(...(index.byPgid.get(launcher.ref.pid) ?? []));
    if (launcher.ledSession && !reused) queue.push(...(index.bySid.get(launcher.ref.pid) ?? []));
    for (const ref of launcher.memberRefs) {
      const proc = procs.get(Number(ref.slice(0, ref.indexOf(':'))));
      if (proc && refKey(proc) === ref) queue.push(proc);
    }
    const members: ProcInfo[] = [];
    for (let next = 0; next < queue.length; next += 1) {
      const proc = queue[next]!;
      if (claimed.has(proc.pid) || isProtected(proc.pid)) continue;
      claimed.add(proc.pid);
      if (!isZombie(proc)) members.push(proc);
      queue.push(...(index.children.get(proc.pid) ?? []));
    }
    if (members.length === 0) return;
    const id = refKey(launcher.ref);
    known.set(id, { ...launcher, memberRefs: new Set(members.map(refKey)) });
    instances.push({
      id,
      key: launcher.key,
      launcher: launcher.ref,
      launcherAlive: alive !== undefined,
      orphaned: alive === undefined || alive.ppid === initPid,
      members,
      ...(launcher.ledGroup ? { pgid: launcher.ref.pid } : {}),
      tasks: sum(members, (proc) => proc.threads),
      rssPages: sum(members, (proc) => proc.rssPages),
      cpuTicks: sum(members, (proc) => proc.cpuTicks),
    });
  };

  // Dead launchers first: what is left of their trees keeps its identity, key and age,
  // even where a leftover (`sh -c mcp-server-x`) would match as a launcher of its own.
  for (const launcher of input.known.values()) {
    const now = procs.get(launcher.ref.pid);
    if (now && now.startTicks === launcher.ref.startTicks && !isZombie(now)) continue;
    claim(launcher, undefined);
  }
  for (const proc of procs.values()) {
    // A process that has forked but not exec'd still shows its parent's command line.
    if (claimed.has(proc.pid) || isProtected(proc.pid) || isZombie(proc) || hasNotExeced(proc)) continue;
    if (!isMatching(proc, patterns) || hasMatchingAncestor(proc, procs, isProtected, patterns)) continue;
    // The key is taken anew while the launcher lives: npm sets its title only after start.
    const launcher = {
      ref: { pid: proc.pid, startTicks: proc.startTicks },
      key: commandKey(proc.argv),
      ledGroup: proc.pgid === proc.pid,
      ledSession: proc.sid === proc.pid,
      memberRefs: input.known.get(refKey(proc))?.memberRefs ?? new Set<string>(),
    };
    claim(launcher, proc);
  }
  return { instances, known };
}

function isMatching(proc: ProcInfo, patterns: readonly RegExp[]): boolean {
  return proc.argv.length > 0 && isLauncherCommand(commandLine(proc.argv), patterns);
}

// The walk stops at the main child and the init: they are never launchers, whatever their
// command lines say (an app started with an @modelcontextprotocol/ argument is still the app).
function hasMatchingAncestor(proc: ProcInfo, procs: ReadonlyMap<number, ProcInfo>, isProtected: (pid: number) => boolean, patterns: readonly RegExp[]): boolean {
  const seen = new Set<number>();
  for (let parent = procs.get(proc.ppid); parent && !isProtected(parent.pid) && !seen.has(parent.pid); parent = procs.get(parent.ppid)) {
    seen.add(parent.pid);
    if (isMatching(parent, patterns)) return true;
  }
  return false;
}

function indexProcs(procs: ReadonlyMap<number, ProcInfo>) {
  const children = new Map<number, ProcInfo[]>();
  const byPgid = new Map<number, ProcInfo[]>();
  const bySid = new Map<number, ProcInfo[]>();
  const add = (map: Map<number, ProcInfo[]>, key: number, proc: ProcInfo) => {
    const list = map.get(key);
    if (list) list.push(proc);
    else map.set(key, [proc]);
  };
  for (const proc of procs.values()) {
    add(children, proc.ppid, proc);
    add(byPgid, proc.pgid, proc);
    add(bySid, proc.sid, proc);
  }
  return { children, byPgid, bySid };
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}
