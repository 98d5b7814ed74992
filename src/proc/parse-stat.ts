import type { ProcStat } from './snapshot.js';

// Where each of the first 22 fields after comm starts, reused: a scan parses one line per
// process, and finding 22 starts costs less than splitting all 52 fields (docs/facts.md).
const starts = new Int32Array(22);

/**
 * Parses one /proc/PID/stat line, or returns undefined when it is not one.
 * comm may hold spaces and ')' itself, so fields are counted from the last ')'.
 */
export function parseStat(line: string): ProcStat | undefined {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 1 || close < open) return undefined;
  const pid = Number(line.slice(0, open));
  if (!Number.isInteger(pid)) return undefined;
  // starts[0] is field 3 of proc(5) (state); starttime is field 22, rss field 24.
  let at = close + 2;
  for (let i = 0; i < starts.length; i += 1) {
    if (at >= line.length) return undefined;
    starts[i] = at;
    const space = line.indexOf(' ', at);
    at = space === -1 ? line.length : space + 1;
  }
  const num = (i: number) => fieldNumber(line, starts[i]!);
  return {
    pid,
    comm: line.slice(open + 1, close),
    state: line.charAt(close + 2),
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

/** The decimal number that starts at `start` and ends at a space, a newline or the end. */
function fieldNumber(line: string, start: number): number {
  let value = 0;
  let at = start;
  for (; at < line.length; at += 1) {
    const c = line.charCodeAt(at);
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  const end = at === line.length ? 32 : line.charCodeAt(at);
  if (at > start && (end === 32 || end === 10)) return value;
  // A sign or anything else: as Number() reads the field.
  const space = line.indexOf(' ', start);
  return Number(line.slice(start, space === -1 ? undefined : space));
}
