import { readdirSync } from 'node:fs';
import { type KeptFile, keepOpen, readProcText } from '../../proc/read-file.js';
import { lastPidOf, readStat } from '../../proc/read-proc.js';
import { type ProcRef, type ProcStat, refKey } from '../../proc/snapshot.js';

/**
 * The watch looks this often while the namespace forks: a launcher that lives 100 ms (spawned,
 * closed at once by a TERM to it alone, its server left behind) is seen at least once, with
 * room for a late timer on a loaded machine.
 */
export const WATCH_MS = 50;
/**
 * ... and this often once nothing was forked for QUIET_AFTER_MS: still under 100 ms, and the
 * first fork of a burst moves the watch back to WATCH_MS. Every wake of Node costs here about
 * 0.13 ms of CPU whatever it does: 50 ms alone was 0.25% of a core, against an idle budget of
 * 0.5% at 250 processes.
 */
export const QUIET_WATCH_MS = 80;
const QUIET_AFTER_MS = 5000;
/** Every thread's children file is read this often; the main thread's at every poll. */
const ALL_THREADS_MS = 1000;
/** Processes whose children are watched, at most: the main child and the parents of launchers. */
const MAX_SPAWNERS = 16;

/**
 * Sees the app's new children between two scans, so that no launcher escapes notice: one that
 * lived and died between two scans leaves its servers in the session and group it made with
 * its own pid, and knowing that pid was the app's child is what makes them the app's orphans
 * rather than strangers (docker exec leftovers). It reads /proc/PID/task/TID/children of the
 * main child and of the processes that launched MCP servers before, at every poll at which
 * the namespace's last pid moved (Node spawns from its main thread: that thread's file at
 * every such poll, the others' every ALL_THREADS_MS), and the stat of each child it has not
 * seen. Fork-free.
 */
export class ChildWatch {
  private spawners: ProcRef[] = [];
  private readonly seen = new Map<string, ProcStat>();
  private fresh: ProcStat[] = [];
  /**
   * What each children file held at its last read, by spawner pid and thread id. A file that
   * reads the same holds no new child; a pid listed before in the thread's file is the same
   * child (only a wrap of the pid space between two reads could make it another, and the next
   * scan would still see that one). Reading the stat of every child at every poll cost 4.7% of
   * a core with 250 children, parsing every list 0.9%.
   */
  private listed = new Map<number, Map<number, { text: string; pids: ReadonlySet<number> }>>();
  private allThreadsAtMs = -Infinity;
  /** The namespace's last pid at the last poll, and whether a fork came since the last all-threads read. */
  private lastPid: number | undefined;
  private forkedSinceAllThreads = true;
  private lastForkAtMs = -Infinity;
  private loadavg: KeptFile | undefined;
  /** Children files read, for the cost of the watch. */
  reads = 0;
  /** Stats of children read, for the cost of the watch. */
  statReads = 0;

  constructor(private readonly procRoot: string) {
    this.loadavg = keepOpen(`${procRoot}/loadavg`);
  }

  /** Whether something was forked within QUIET_AFTER_MS. */
  isForking(nowMs: number): boolean {
    return nowMs - this.lastForkAtMs < QUIET_AFTER_MS;
  }

  /** How long to wait for the next poll. */
  nextPollMs(nowMs: number): number {
    return this.isForking(nowMs) ? WATCH_MS : QUIET_WATCH_MS;
  }

  /** Lets the file it keeps open go. */
  close(): void {
    this.loadavg?.close();
    this.loadavg = undefined;
  }

  /** The processes to watch from now on (the main child first). */
  watch(spawners: readonly ProcRef[]): void {
    const unique = new Map<number, ProcRef>();
    for (const spawner of spawners) if (!unique.has(spawner.pid)) unique.set(spawner.pid, spawner);
    const next = [...unique.values()].slice(0, MAX_SPAWNERS);
    // A new spawner is read at the next poll, forks or not.
    if (next.some((s) => !this.spawners.some((t) => refKey(t) === refKey(s)))) {
      this.lastPid = undefined;
      this.forkedSinceAllThreads = true;
    }
    this.spawners = next;
  }

  /** One look at every spawner's children; true when something was forked since the last. */
  poll(nowMs: number): boolean {
    // A children file costs the kernel a walk of the list for each entry it writes (0.35 ms
    // with 250 children here, at every poll): read none while nothing has been forked.
    const lastPid = lastPidOf(this.loadavg?.read());
    const forked = lastPid === undefined || lastPid !== this.lastPid;
    this.lastPid = lastPid;
    if (forked) {
      this.forkedSinceAllThreads = true;
      this.lastForkAtMs = nowMs;
    }
    const allThreads = this.forkedSinceAllThreads && nowMs - this.allThreadsAtMs >= ALL_THREADS_MS;
    if (!forked && !allThreads) return false;
    if (allThreads) {
      this.allThreadsAtMs = nowMs;
      this.forkedSinceAllThreads = false;
    }
    const listed = new Map<number, Map<number, { text: string; pids: ReadonlySet<number> }>>();
    for (const spawner of this.spawners) {
      const before = this.listed.get(spawner.pid);
      // Between all-threads polls, the other threads' files are kept as they were last read.
      const threads = allThreads || !before ? new Map<number, { text: string; pids: ReadonlySet<number> }>() : new Map(before);
      for (const tid of allThreads ? this.threadsOf(spawner.pid) : [spawner.pid]) {
        this.reads += 1;
        const text = readProcText(`${this.procRoot}/${spawner.pid}/task/${tid}/children`) ?? '';
        const last = before?.get(tid);
        if (last?.text === text) {
          threads.set(tid, last);
          continue;
        }
        const pids = new Set<number>();
        for (const word of text.split(' ')) {
          if (!word) continue;
          const pid = Number(word);
          if (!last?.pids.has(pid)) this.look(pid, spawner);
          pids.add(pid);
        }
        threads.set(tid, { text, pids });
      }
      listed.set(spawner.pid, threads);
    }
    this.listed = listed;
    return forked;
  }

  /** The children first seen since the last call, and forgets those that are gone. */
  takeSeen(isAlive: (ref: ProcRef) => boolean): ProcStat[] {
    const taken = this.fresh;
    this.fresh = [];
    for (const [ref, stat] of this.seen) if (!isAlive(stat)) this.seen.delete(ref);
    return taken;
  }

  private look(pid: number, spawner: ProcRef): void {
    this.statReads += 1;
    const stat = readStat(pid, this.procRoot);
    // A child whose parent is no longer the spawner was read late: the pid may be another's.
    if (!stat || stat.ppid !== spawner.pid || this.seen.has(refKey(stat))) return;
    this.seen.set(refKey(stat), stat);
    this.fresh.push(stat);
  }

  private threadsOf(pid: number): number[] {
    try {
      return readdirSync(`${this.procRoot}/${pid}/task`).map(Number);
    } catch {
      return [];
    }
  }
}
