import type { ProcStat } from './snapshot.js';

/**
 * Parses one /proc/PID/stat line, or returns undefined when it is not one.
 * comm may hold spaces and ')' itself, so fields are counted from the last ')'.
 */
export function parseStat(line: string): ProcStat | undefined {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 1 || close < open) return undefined;
  const pid = Number(line.slice(0, open));
  const fields = line.slice(close + 2).split(' ');
  // fields[0] is field 3 of proc(5) (state); starttime is field 22, rss field 24.
  if (!Number.isInteger(pid) || fields.length < 22) return undefined;
  const num = (i: number) => Number(fields[i]);
  return {
    pid,
    comm: line.slice(open + 1, close),
    state: fields[0] ?? '?',
    ppid: num(1),
    pgid: num(2),
    sid: num(3),
    flags: num(6),
    cpuTicks: num(11) + num(12),
    threads: num(17),
    startTicks: num(19),
    rssPages: num(21),
  };
}
