import { hasNotExeced, isZombie, type ProcInfo, type ProcRef, refKey } from '../proc/snapshot.js';
import type { AppTree } from './app-tree.js';
import { commandKey, launcherIdentity } from './command-key.js';
import { isLauncherCommand } from './launcher-patterns.js';

/** A launcher seen once, remembered so that its tree keeps its key and is still known after it dies. */
export type KnownLauncher = {
  ref: ProcRef;
  /** Taken when it was first seen: a launcher's command line changes as npm starts, its key does not. */
  key: string;
  /** It led its process group / session: their members belong to the instance. */
  ledGroup: boolean;
  ledSession: boolean;
  /** refKeys of every member seen so far: a helper that called setsid and lost its parent is still one. */
  memberRefs: ReadonlySet<string>;
};

/** One launched MCP server: a launcher's tree plus what is left in its group or session. */
export type Instance = {
  /** `pid:startTicks` of the launcher (stable after it dies), or `session:SID` for leftovers of an unseen one. */
  id: string;
  key: string;
  launcher: ProcRef;
  launcherAlive: boolean;
  /** The launcher died or lost its parent: nobody can talk to this server any more. */
  orphaned: boolean;
  /** Live members (zombies cannot be signalled), launcher first when alive. */
  members: readonly ProcInfo[];
  /** The process group to signal: only one the launcher led, never the init's or the main child's. */
  pgid?: number;
  tasks: number;
  rssPages: number;
  cpuTicks: number;
};

export type FindInstancesInput = {
  app: AppTree;
  initPid: number;
  patterns: readonly RegExp[];
  known: ReadonlyMap<string, KnownLauncher>;
};

/**
 * Finds every MCP instance among the app's processes, and the launchers to remember.
 * A launcher is a matching process with no matching ancestor below the main child; once
 * seen it stays one while it lives, whatever its command line says next. Leftovers of a
 * launcher that died unseen are one orphaned instance per session they share.
 */
export function findInstances({ app, initPid, patterns, known }: FindInstancesInput): {
  instances: Instance[];
  known: Map<string, KnownLauncher>;
} {
  const finder = new InstanceFinder(app, initPid, findAppPath(app.procs, patterns));
  claimKnownLaunchers(finder, known);
  claimNewLaunchers(finder, patterns);
  claimLeftovers(finder, patterns);
  return { instances: finder.instances, known: finder.known };
}

/** Known launchers first: their trees keep identity, key and age, even where a leftover (`sh -c mcp-server-x`) would match as a launcher of its own. */
function claimKnownLaunchers(finder: InstanceFinder, knownBefore: ReadonlyMap<string, KnownLauncher>): void {
  for (const launcher of knownBefore.values()) {
    // Seen as a launcher before its own launchers started: the app after all, and forgotten.
    if (finder.appPath.has(launcher.ref.pid)) continue;
    const now = finder.procs.get(launcher.ref.pid);
    const alive = now && now.startTicks === launcher.ref.startTicks && !isZombie(now) ? now : undefined;
    finder.claimLauncher(launcher, alive);
  }
}

function claimNewLaunchers(finder: InstanceFinder, patterns: readonly RegExp[]): void {
  const { procs } = finder;
  for (const proc of procs.values()) {
    // A process that has forked but not exec'd still shows its parent's command line.
    if (finder.claimed.has(proc.pid) || isZombie(proc) || hasNotExeced(proc) || finder.isLeftover(proc) || finder.appPath.has(proc.pid)) continue;
    if (!isMatching(proc, patterns) || hasMatchingAncestor(proc, procs, patterns, finder.appPath)) continue;
    finder.claimLauncher(
      {
        ref: { pid: proc.pid, startTicks: proc.startTicks },
        key: commandKey(proc.argv),
        ledGroup: proc.pgid === proc.pid,
        ledSession: proc.sid === proc.pid,
        memberRefs: new Set<string>(),
      },
      proc,
    );
  }
}

// What is left of launchers that died before any scan saw them as launchers: the app's
// processes reparented to the init, one instance per session they share.
function claimLeftovers(finder: InstanceFinder, patterns: readonly RegExp[]): void {
  for (const [session, roots] of unclaimedOrphansBySession(finder)) {
    const members = finder.collect(roots.sort((a, b) => a.startTicks - b.startTicks));
    const matching = members.find((proc) => isMatching(proc, patterns));
    if (!matching) continue;
    const oldest = members.reduce((a, b) => (b.startTicks < a.startTicks ? b : a));
    const id = session > 0 ? `session:${session}` : refKey(oldest);
    finder.instances.push(
      makeInstance(id, commandKey(matching.argv), { pid: oldest.pid, startTicks: oldest.startTicks }, undefined, members, undefined, finder.initPid),
    );
  }
}

function unclaimedOrphansBySession(finder: InstanceFinder): Map<number, ProcInfo[]> {
  const leftovers = new Map<number, ProcInfo[]>();
  for (const proc of finder.procs.values()) {
    if (finder.claimed.has(proc.pid) || isZombie(proc) || proc.ppid !== finder.initPid) continue;
    const session = finder.app.protectedIds.has(proc.sid) ? -proc.pid : proc.sid;
    leftovers.set(session, [...(leftovers.get(session) ?? []), proc]);
  }
  return leftovers;
}

/** One search of the app's processes: each is claimed by the first instance that reaches it. */
class InstanceFinder {
  readonly instances: Instance[] = [];
  readonly known = new Map<string, KnownLauncher>();
  readonly claimed = new Set<number>();
  readonly procs: ReadonlyMap<number, ProcInfo>;
  private readonly index: ReturnType<typeof indexProcs>;

  constructor(
    readonly app: AppTree,
    readonly initPid: number,
    /** The app's own processes on the way to its launchers (findAppPath): never launchers. */
    readonly appPath: ReadonlySet<number>,
  ) {
    this.procs = app.procs;
    this.index = indexProcs(app.procs);
  }

  // A process reparented to the init in a session whose leader (the launcher) is gone is
  // what is left of an instance, even when it matches as a launcher itself.
  isLeftover(proc: ProcInfo): boolean {
    return proc.ppid === this.initPid && !this.app.protectedIds.has(proc.sid) && this.procs.get(proc.sid)?.sid !== proc.sid;
  }

  /** Claims what is left of a launcher's tree, group and session as its instance, and remembers the launcher. */
  claimLauncher(launcher: KnownLauncher, alive: ProcInfo | undefined): void {
    const ownsIds = this.ownsIds(launcher);
    const members = this.collect([...(alive ? [alive] : []), ...this.reachedBy(launcher, ownsIds)]);
    if (members.length === 0) return;
    const id = refKey(launcher.ref);
    this.known.set(id, { ...launcher, memberRefs: new Set(members.map(refKey)) });
    this.instances.push(
      makeInstance(id, launcher.key, launcher.ref, alive, members, launcher.ledGroup && ownsIds ? launcher.ref.pid : undefined, this.initPid),
    );
  }

  /** The unclaimed live processes of these and their descendants, each claimed. */
  collect(queue: ProcInfo[]): ProcInfo[] {
    const members: ProcInfo[] = [];
    for (let next = 0; next < queue.length; next += 1) {
      const proc = queue[next]!;
      if (this.claimed.has(proc.pid)) continue;
      this.claimed.add(proc.pid);
      if (!isZombie(proc)) members.push(proc);
      queue.push(...(this.index.children.get(proc.pid) ?? []));
    }
    return members;
  }

  // A dead launcher's pid taken by a new process means its group and session ids were
  // free to reuse, so whoever holds them now is not ours (the kernel keeps a pid while a
  // group or session still has that id).
  private ownsIds(launcher: KnownLauncher): boolean {
    const holder = this.procs.get(launcher.ref.pid);
    const reused = holder !== undefined && holder.startTicks !== launcher.ref.startTicks;
    return !reused && !this.app.protectedIds.has(launcher.ref.pid);
  }

  /** Its group's and session's processes where it led them and still owns their ids, and the members it had that are still there. */
  private reachedBy(launcher: KnownLauncher, ownsIds: boolean): ProcInfo[] {
    const reached: ProcInfo[] = [];
    if (launcher.ledGroup && ownsIds) reached.push(...(this.index.byPgid.get(launcher.ref.pid) ?? []));
    if (launcher.ledSession && ownsIds) reached.push(...(this.index.bySid.get(launcher.ref.pid) ?? []));
    for (const ref of launcher.memberRefs) {
      const proc = this.procs.get(Number(ref.slice(0, ref.indexOf(':'))));
      if (proc && refKey(proc) === ref) reached.push(proc);
    }
    return reached;
  }
}

function makeInstance(
  id: string,
  key: string,
  launcher: ProcRef,
  alive: ProcInfo | undefined,
  members: ProcInfo[],
  pgid: number | undefined,
  initPid: number,
): Instance {
  return {
    id,
    key,
    launcher,
    launcherAlive: alive !== undefined,
    orphaned: alive === undefined || alive.ppid === initPid,
    members,
    ...(pgid !== undefined && pgid > 1 ? { pgid } : {}),
    tasks: sum(members, (proc) => proc.threads),
    rssPages: sum(members, (proc) => proc.rssPages),
    cpuTicks: sum(members, (proc) => proc.cpuTicks),
  };
}

function isMatching(proc: ProcInfo, patterns: readonly RegExp[]): boolean {
  return proc.argv.length > 0 && isLauncherCommand(launcherIdentity(proc.argv), patterns);
}

// Only the app's processes are walked: the walk ends below the main child, which is never a
// launcher whatever its command line says (an app started with an @modelcontextprotocol/
// argument is still the app), and the app's processes on the way to a launcher do not count.
function hasMatchingAncestor(proc: ProcInfo, procs: ReadonlyMap<number, ProcInfo>, patterns: readonly RegExp[], appPath: ReadonlySet<number>): boolean {
  const seen = new Set<number>();
  for (let parent = procs.get(proc.ppid); parent && !seen.has(parent.pid); parent = procs.get(parent.ppid)) {
    seen.add(parent.pid);
    if (!appPath.has(parent.pid) && isMatching(parent, patterns)) return true;
  }
  return false;
}

/**
 * The app's own processes on the way from the main child to its launchers, whatever their
 * command lines say: each ancestor, within the app, of a matching process that leads a process
 * group of its own (an app such as MetaMCP spawns each server `detached`). A launcher's own
 * tree is its group (npm exec → sh → node, the shell and the server matching too), so a
 * server's helper that called setsid leaves it one instance: the walk ends at a group leader
 * whose group holds another matching process. An app named like a server (`--config
 * mcp-servers.json`), in the main child's group or in one of its own, is still the app.
 */
export function findAppPath(procs: ReadonlyMap<number, ProcInfo>, patterns: readonly RegExp[]): Set<number> {
  const path = new Set<number>();
  const matchingInGroup = new Map<number, number>();
  for (const proc of procs.values())
    if (!isZombie(proc) && isMatching(proc, patterns)) matchingInGroup.set(proc.pgid, (matchingInGroup.get(proc.pgid) ?? 0) + 1);
  for (const proc of procs.values()) {
    if (proc.pgid !== proc.pid || isZombie(proc) || !isMatching(proc, patterns)) continue;
    for (let parent = procs.get(proc.ppid); parent && !path.has(parent.pid); parent = procs.get(parent.ppid)) {
      const leadsLauncherGroup = parent.pgid === parent.pid && (matchingInGroup.get(parent.pid) ?? 0) > (isMatching(parent, patterns) ? 1 : 0);
      if (leadsLauncherGroup) break;
      path.add(parent.pid);
    }
  }
  return path;
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
