import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseStat } from '../../src/proc/parse-stat.js';

// Real lines from /proc, trimmed of nothing.
const NODE =
  '2405 (node) S 2397 2405 2405 0 -1 4194560 2834 0 0 0 12 3 0 0 20 0 7 0 1234567 1101234176 10240 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0';

describe('parseStat', () => {
  it('reads the fields the init and the guard use', () => {
    expect(parseStat(NODE)).toEqual({
      pid: 2405,
      comm: 'node',
      state: 'S',
      ppid: 2397,
      pgid: 2405,
      sid: 2405,
      flags: 4194560,
      cpuTicks: 15,
      threads: 7,
      startTicks: 1234567,
      rssPages: 10240,
    });
  });

  it('reads a comm that holds spaces and parentheses', () => {
    const line = NODE.replace('(node)', '(a b) (c))');
    expect(parseStat(line)).toMatchObject({ pid: 2405, comm: 'a b) (c)', state: 'S', ppid: 2397, startTicks: 1234567 });
  });

  it('reads a zombie', () => {
    expect(parseStat(NODE.replace(') S ', ') Z '))?.state).toBe('Z');
  });

  it('returns undefined for a truncated or foreign line', () => {
    expect(parseStat('')).toBeUndefined();
    expect(parseStat('12 (x) S 1 2 3')).toBeUndefined();
    expect(parseStat('not a stat line')).toBeUndefined();
  });

  it('reads every process of this machine as splitting the line at its spaces does', () => {
    // The oracle: the plain reading of proc(5), fields counted from the last ')'.
    const bySplit = (line: string) => {
      const close = line.lastIndexOf(')');
      const fields = line
        .slice(close + 2)
        .split(' ')
        .map(Number);
      const field = (n: number) => fields[n - 3]!;
      return {
        state: line.charAt(close + 2),
        ppid: field(4),
        pgid: field(5),
        sid: field(6),
        flags: field(9),
        cpuTicks: field(14) + field(15),
        threads: field(20),
        startTicks: field(22),
        rssPages: field(24),
      };
    };
    const lines = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .flatMap((pid) => {
        try {
          return [readFileSync(`/proc/${pid}/stat`, 'latin1')];
        } catch {
          return [];
        }
      });
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(parseStat(line)).toMatchObject(bySplit(line));
  });

  it('reads a negative or signed field as a number', () => {
    expect(parseStat(NODE.replace(' 2397 2405 2405 ', ' 2397 -2405 +2405 '))).toMatchObject({ pgid: -2405, sid: 2405 });
  });
});
