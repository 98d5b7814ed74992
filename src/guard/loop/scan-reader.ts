// What one scan reads for the step: the processes, the cgroup's figures and, on demand, a
// member's I/O, pending signals or stdin.
import type { CgroupDirs } from '../../cgroup/figures.js';
import { readCgroupFigures, withPidsMax } from '../../cgroup/read-figures.js';
import { hasCloseSignalPending, readIoBytes } from '../../proc/read-proc.js';
import { readProcsWithPsList } from '../../proc/read-ps-list.js';
import { ProcScanner } from '../../proc/read-snapshot.js';
import type { ProcInfo } from '../../proc/snapshot.js';
import type { Readings } from '../step.js';
import type { ChildWatch } from './child-watch.js';
import type { StdinClosers } from './stdin-closers.js';

/** Reads one scan: everything the step takes but the growth, which the polls measure. */
export type ScanReader = () => Promise<Omit<Readings, 'growthPerSecond'>>;

export type ScanReaderSettings = {
  /** This namespace's /proc, or undefined where there is none. */
  procRoot: string | undefined;
  ticksPerSecond: number;
  pageBytes: number;
  cgroupDirs: CgroupDirs;
  pidsMax?: number | undefined;
};

export function makeScanReader(
  { procRoot, ticksPerSecond, pageBytes, cgroupDirs, pidsMax }: ScanReaderSettings,
  watch: ChildWatch | undefined,
  closers: StdinClosers,
): ScanReader {
  const scanner = new ProcScanner(procRoot ?? '/proc', ticksPerSecond);
  // Linux reads /proc, fork-free; only where there is none does `ps` (through ps-list) serve.
  const readProcs: () => Map<number, ProcInfo> | Promise<Map<number, ProcInfo>> = procRoot ? () => scanner.scanInSlices() : readProcsWithPsList;
  return async () => {
    const procs = await readProcs();
    const nowMs = Date.now();
    // The uptime the scan read as it began, carried to now: /proc/uptime once per scan.
    const uptime = procRoot ? scanner.lastUptime : undefined;
    const cgroup = withPidsMax(readCgroupFigures(cgroupDirs), pidsMax);
    return {
      nowMs,
      uptimeMs: uptime === undefined ? nowMs : uptime.seconds * 1000 + (nowMs - uptime.atMs),
      ticksPerSecond,
      pageBytes,
      procs,
      // The scan's own snapshot says who is still there: no read per child.
      seenChildren: watch?.takeSeen((ref) => procs.get(ref.pid)?.startTicks === ref.startTicks) ?? [],
      readIo: procRoot ? (pid) => readIoBytes(pid, procRoot) : () => undefined,
      cgroup,
      closeAsked: procRoot ? (pid) => hasCloseSignalPending(pid, procRoot) : () => false,
      stdinClosable: closers.forScan(procs),
    };
  };
}
