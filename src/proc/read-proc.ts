import { readdirSync, readlinkSync } from 'node:fs';
import { parseStat } from './parse-stat.js';
import { readProcRecordText, readProcText } from './read-file.js';
import type { ProcStat } from './snapshot.js';

/** The pids /proc lists now. */
export function listPids(procRoot = '/proc'): number[] {
  const pids: number[] = [];
  for (const name of readdirSync(procRoot)) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(name));
  }
  return pids;
}

/** /proc/PID/stat of one process, or undefined when it is gone. */
export function readStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  const text = readProcRecordText(`${procRoot}/${pid}/stat`);
  return text === undefined ? undefined : parseStat(text);
}

/** Every process /proc shows, by pid; processes that vanish mid-scan are left out. */
export function readAllStats(procRoot = '/proc'): Map<number, ProcStat> {
  const procs = new Map<number, ProcStat>();
  for (const pid of listPids(procRoot)) {
    const stat = readStat(pid, procRoot);
    if (stat) procs.set(pid, stat);
  }
  return procs;
}

/**
 * The children of one process from /proc/PID/task/TID/children, or undefined when
 * the kernel lacks that file (CONFIG_PROC_CHILDREN) and a full scan is needed.
 */
export function readChildPids(pid: number, procRoot = '/proc'): number[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`${procRoot}/${pid}/task`);
  } catch {
    return undefined;
  }
  const children: number[] = [];
  for (const tid of tids) {
    const text = readProcText(`${procRoot}/${pid}/task/${tid}/children`);
    if (text === undefined) return undefined;
    for (const word of text.split(' ')) if (word) children.push(Number(word));
  }
  return children;
}

/** Seconds since boot: start times in /proc/PID/stat count from boot. */
export function readUptimeSeconds(procRoot = '/proc'): number | undefined {
  const text = readProcText(`${procRoot}/uptime`);
  return text === undefined ? undefined : Number(text.split(' ')[0]);
}

/**
 * The pid most recently given out in the reader's pid namespace, from the text of
 * /proc/loadavg (its last field), or undefined: when it has not moved, nothing was forked
 * (no process, no thread) since it was last read. One read, whatever the count of processes.
 */
export function lastPidOf(loadavg: string | undefined): number | undefined {
  const last = loadavg?.trim().split(' ').at(-1);
  return last && /^\d+$/.test(last) ? Number(last) : undefined;
}

/**
 * Bytes the process has read and written so far (/proc/PID/io rchar + wchar), or undefined
 * when it is gone or not readable (another user's process, without CAP_SYS_PTRACE).
 */
export function readIoBytes(pid: number, procRoot = '/proc'): number | undefined {
  const text = readProcText(`${procRoot}/${pid}/io`);
  if (text === undefined) return undefined;
  const rchar = /^rchar: (\d+)$/m.exec(text);
  const wchar = /^wchar: (\d+)$/m.exec(text);
  return rchar && wchar ? Number(rchar[1]) + Number(wchar[1]) : undefined;
}

/** SIGHUP, SIGINT and SIGTERM as bits of a pending-signal mask (bit n-1 is signal n). */
const CLOSE_SIGNALS = (1n << 0n) | (1n << 1n) | (1n << 14n);

/**
 * Whether a HUP, INT or TERM is pending on the process (/proc/PID/status SigPnd or ShdPnd):
 * sent, and not acted on yet, as on a stopped process. False when it is gone.
 */
export function hasCloseSignalPending(pid: number, procRoot = '/proc'): boolean {
  const text = readProcText(`${procRoot}/${pid}/status`);
  if (text === undefined) return false;
  for (const match of text.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)) if ((BigInt(`0x${match[1]}`) & CLOSE_SIGNALS) !== 0n) return true;
  return false;
}

/** The process's working directory, or undefined when it is gone or not readable. */
export function readCwd(pid: number, procRoot = '/proc'): string | undefined {
  try {
    return readlinkSync(`${procRoot}/${pid}/cwd`);
  } catch {
    return undefined;
  }
}
