import { CMDLINE_LIMIT_BYTES, parseCmdline } from './parse-cmdline.js';
import { readProcTextPrefix } from './read-file.js';
import { listPids, readStat, readUptimeSeconds } from './read-proc.js';
import { hasNotExeced, type ProcInfo } from './snapshot.js';

type CachedArgv = { startTicks: number; comm: string; argv: readonly string[] };

// Old enough for its command line to be final: exec and npm's title change happen in a
// process's first moments.
const SETTLED_MS = 2000;

/**
 * Reads every process with the first 4 KiB of its command line. A command line is fixed once a process has
 * exec'd, except that npm rewrites its title (and comm, not atomically with it); so it is
 * cached per (pid, start time, comm) only once the process is a few seconds old, and the
 * common scan reads stat alone.
 */
export class ProcScanner {
  readonly #cache = new Map<number, CachedArgv>();

  constructor(
    private readonly procRoot = '/proc',
    private readonly ticksPerSecond = 100,
  ) {}

  /** Every process /proc shows now; those that vanish mid-scan are left out. */
  scan(): Map<number, ProcInfo> {
    const procs = new Map<number, ProcInfo>();
    const uptimeSeconds = readUptimeSeconds(this.procRoot);
    const settledBeforeTicks = uptimeSeconds === undefined ? -1 : (uptimeSeconds - SETTLED_MS / 1000) * this.ticksPerSecond;
    for (const pid of listPids(this.procRoot)) {
      const stat = readStat(pid, this.procRoot);
      if (!stat) continue;
      const cached = this.#cache.get(pid);
      let argv = cached && cached.startTicks === stat.startTicks && cached.comm === stat.comm ? cached.argv : undefined;
      if (!argv) {
        const raw = readProcTextPrefix(`${this.procRoot}/${pid}/cmdline`, CMDLINE_LIMIT_BYTES, 'utf8');
        if (raw === undefined) continue;
        argv = parseCmdline(raw);
        // A zombie has an empty cmdline, and one not yet exec'd shows its parent's.
        if (argv.length > 0 && !hasNotExeced(stat) && stat.startTicks < settledBeforeTicks)
          this.#cache.set(pid, { startTicks: stat.startTicks, comm: stat.comm, argv });
      }
      // The fresh stat object itself, not a copy: one allocation less per process and scan.
      procs.set(pid, Object.assign(stat, { argv }));
    }
    for (const pid of this.#cache.keys()) if (!procs.has(pid)) this.#cache.delete(pid);
    return procs;
  }
}
