import { readdirSync } from 'node:fs';
import { readProcText } from '../proc/read-file.js';
import { readStat } from '../proc/read-proc.js';
import { type ProcRef, type ProcStat, refKey } from '../proc/snapshot.js';

/**
 * The watch reads its spawners' children this often: a launcher that lives 100 ms (spawned,
 * closed at once by a TERM to it alone, its server left behind) is seen at least once.
 */
export const WATCH_MS = 50;
/** Every thread's children file is read this often; the main thread's at every poll. */
const ALL_THREADS_MS = 1000;
/** Processes whose children are watched, at most: the main child and the parents of launchers. */
const MAX_SPAWNERS = 16;

/**
 * Sees the app's new children between two scans, so that no launcher escapes notice: one that
 * lived and died between two scans leaves its servers in the session and group it made with
 * its own pid, and knowing that pid was the app's child is what makes them the app's orphans
 * rather than strangers (docker exec leftovers). It reads /proc/PID/task/TID/children of the
 * main child and of the processes that launched MCP servers before (one small read each per
 * poll: Node spawns from its main thread, so that thread's file at every poll, the others'
 * every ALL_THREADS_MS) and the stat of each child it has not seen. Fork-free.
 */
export class ChildWatch {
  private spawners: ProcRef[] = [];
  private readonly seen = new Map<string, ProcStat>();
  private fresh: ProcStat[] = [];
  private allThreadsAtMs = -Infinity;
  /** Reads done, for the cost of the watch. */
  reads = 0;

  constructor(private readonly procRoot: string) {}

  /** The processes to watch from now on (the main child first). */
  watch(spawners: readonly ProcRef[]): void {
    const unique = new Map<number, ProcRef>();
    for (const spawner of spawners) if (!unique.has(spawner.pid)) unique.set(spawner.pid, spawner);
    this.spawners = [...unique.values()].slice(0, MAX_SPAWNERS);
  }

  /** One look at every spawner's children. */
  poll(nowMs: number): void {
    const allThreads = nowMs - this.allThreadsAtMs >= ALL_THREADS_MS;
    if (allThreads) this.allThreadsAtMs = nowMs;
    for (const spawner of this.spawners) {
      const tids = allThreads ? this.threadsOf(spawner.pid) : [spawner.pid];
      for (const tid of tids) {
        this.reads += 1;
        const text = readProcText(`${this.procRoot}/${spawner.pid}/task/${tid}/children`);
        if (!text) continue;
        for (const word of text.split(' ')) if (word) this.look(Number(word), spawner);
      }
    }
  }

  /** The children first seen since the last call, and forgets those that are gone. */
  takeSeen(isAlive: (ref: ProcRef) => boolean): ProcStat[] {
    const taken = this.fresh;
    this.fresh = [];
    for (const [ref, stat] of this.seen) if (!isAlive(stat)) this.seen.delete(ref);
    return taken;
  }

  private look(pid: number, spawner: ProcRef): void {
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
