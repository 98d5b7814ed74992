import { parseCmdline } from './parse-cmdline.js';
import { readProcText } from './read-file.js';
import { listPids, readStat } from './read-proc.js';
import { hasNotExeced, type ProcInfo } from './snapshot.js';

type CachedArgv = { startTicks: number; comm: string; argv: readonly string[] };

/**
 * Reads every process with its command line. A command line is fixed once a process has
 * exec'd, except that npm rewrites its title (which renames comm too); so it is cached per
 * (pid, start time, comm), never before exec, and the common scan reads stat alone.
 */
export class ProcScanner {
  readonly #cache = new Map<number, CachedArgv>();

  constructor(private readonly procRoot = '/proc') {}

  /** Every process /proc shows now; those that vanish mid-scan are left out. */
  scan(): Map<number, ProcInfo> {
    const procs = new Map<number, ProcInfo>();
    for (const pid of listPids(this.procRoot)) {
      const stat = readStat(pid, this.procRoot);
      if (!stat) continue;
      const cached = this.#cache.get(pid);
      let argv = cached && cached.startTicks === stat.startTicks && cached.comm === stat.comm ? cached.argv : undefined;
      if (!argv) {
        const raw = readProcText(`${this.procRoot}/${pid}/cmdline`, 'utf8');
        if (raw === undefined) continue;
        argv = parseCmdline(raw);
        // A zombie has an empty cmdline, and one not yet exec'd shows its parent's.
        if (argv.length > 0 && !hasNotExeced(stat)) this.#cache.set(pid, { startTicks: stat.startTicks, comm: stat.comm, argv });
      }
      procs.set(pid, { ...stat, argv });
    }
    for (const pid of this.#cache.keys()) if (!procs.has(pid)) this.#cache.delete(pid);
    return procs;
  }
}
