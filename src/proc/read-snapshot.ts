import { CMDLINE_LIMIT_BYTES, parseCmdline } from './parse-cmdline.js';
import { readProcTextPrefix } from './read-file.js';
import { listPids, readStat, readUptimeSeconds } from './read-proc.js';
import { hasNotExeced, type ProcInfo } from './snapshot.js';

type CachedArgv = { startTicks: number; comm: string; argv: readonly string[] };

// Old enough for its command line to be final: exec and npm's title change happen in a
// process's first moments.
const SETTLED_MS = 2000;

/** Processes read between two turns of the event loop: about 3-5 ms of a scan. */
const SLICE = 256;

/** One scan under way: the pids listed at its start, and what was read of them. */
type ScanPass = { pids: number[]; procs: Map<number, ProcInfo>; settledBeforeTicks: number };

/**
 * Reads every process with the first 4 KiB of its command line. A command line is fixed once a process has
 * exec'd, except that npm rewrites its title (and comm, not atomically with it); so it is
 * cached per (pid, start time, comm) only once the process is a few seconds old, and the
 * common scan reads stat alone.
 */
export class ProcScanner {
  readonly #cache = new Map<number, CachedArgv>();
  /** /proc/uptime as the last scan read it, and when: the caller's one reading of it per scan. */
  lastUptime: { seconds: number; atMs: number } | undefined;

  constructor(
    private readonly procRoot = '/proc',
    private readonly ticksPerSecond = 100,
  ) {}

  /** Every process /proc shows now; those that vanish mid-scan are left out. */
  scan(): Map<number, ProcInfo> {
    const pass = this.#begin();
    for (const pid of pass.pids) this.#readOne(pid, pass);
    return this.#end(pass);
  }

  /**
   * The same scan, handing the event loop back every `slice` processes: a scan of 5000
   * processes takes 60-110 ms, and a signal to forward or a burst of zombies to reap must
   * not wait for all of it.
   */
  async scanInSlices(slice = SLICE): Promise<Map<number, ProcInfo>> {
    const pass = this.#begin();
    for (let i = 0; i < pass.pids.length; i += 1) {
      if (i > 0 && i % slice === 0) await new Promise((resolve) => setImmediate(resolve));
      this.#readOne(pass.pids[i]!, pass);
    }
    return this.#end(pass);
  }

  #begin(): ScanPass {
    const uptimeSeconds = readUptimeSeconds(this.procRoot);
    this.lastUptime = uptimeSeconds === undefined ? undefined : { seconds: uptimeSeconds, atMs: Date.now() };
    const settledBeforeTicks = uptimeSeconds === undefined ? -1 : (uptimeSeconds - SETTLED_MS / 1000) * this.ticksPerSecond;
    return { pids: listPids(this.procRoot), procs: new Map(), settledBeforeTicks };
  }

  #readOne(pid: number, { procs, settledBeforeTicks }: ScanPass): void {
    const stat = readStat(pid, this.procRoot);
    if (!stat) return;
    const cached = this.#cache.get(pid);
    let argv = cached && cached.startTicks === stat.startTicks && cached.comm === stat.comm ? cached.argv : undefined;
    if (!argv) {
      const raw = readProcTextPrefix(`${this.procRoot}/${pid}/cmdline`, CMDLINE_LIMIT_BYTES, 'utf8');
      if (raw === undefined) return;
      argv = parseCmdline(raw);
      // A zombie has an empty cmdline, and one not yet exec'd shows its parent's.
      if (argv.length > 0 && !hasNotExeced(stat) && stat.startTicks < settledBeforeTicks)
        this.#cache.set(pid, { startTicks: stat.startTicks, comm: stat.comm, argv });
    }
    // The fresh stat object itself, not a copy: one allocation less per process and scan.
    procs.set(pid, Object.assign(stat, { argv }));
  }

  #end({ procs }: ScanPass): Map<number, ProcInfo> {
    for (const pid of this.#cache.keys()) if (!procs.has(pid)) this.#cache.delete(pid);
    return procs;
  }
}
