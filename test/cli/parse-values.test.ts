import { describe, expect, it } from 'vitest';
import {
  MAX_DURATION_MS,
  parseBoolean,
  parseBytes,
  parseChoice,
  parseDurationMs,
  parseExitCodes,
  parseHeadroom,
  parseIntegerAtLeast,
  parsePatterns,
  parsePositiveDurationMs,
  parseRewrites,
  parseSignal,
} from '../../src/cli/parse-values.js';

describe('parseDurationMs', () => {
  it.each([
    ['1500ms', 1500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['0', 0],
  ])('reads %s', (value, ms) => {
    expect(parseDurationMs(value)).toBe(ms);
  });

  it('reads a bare number as seconds', () => {
    expect(parseDurationMs('10')).toBe(10_000);
  });

  it('reads a fraction, rounded to the millisecond, and ignores surrounding blanks', () => {
    expect(parseDurationMs(' 1.2345s ')).toBe(1235);
  });

  it('accepts 24 days and no more: the longest a timer holds', () => {
    expect(parseDurationMs('24d')).toBe(MAX_DURATION_MS);
    expect(() => parseDurationMs(`${MAX_DURATION_MS + 1}ms`)).toThrow(/at most 24 days/);
  });

  it.each(['soon', '-1s', '10 s', '1w', '', 's'])('rejects %j', (value) => {
    expect(() => parseDurationMs(value)).toThrow(/Expected a duration/);
  });
});

describe('parsePositiveDurationMs', () => {
  it('accepts the shortest duration above zero', () => {
    expect(parsePositiveDurationMs('1ms')).toBe(1);
  });

  it('rejects zero, however written', () => {
    expect(() => parsePositiveDurationMs('0s')).toThrow(/above zero/);
    expect(() => parsePositiveDurationMs('0.0001s')).toThrow(/above zero/);
  });
});

describe('parseBoolean', () => {
  it.each(['1', 'true', 'YES', ' on '])('reads %j as true', (value) => {
    expect(parseBoolean(value)).toBe(true);
  });

  it.each(['0', 'false', 'No', 'off', ''])('reads %j as false', (value) => {
    expect(parseBoolean(value)).toBe(false);
  });

  it('rejects any other word', () => {
    expect(() => parseBoolean('maybe')).toThrow(/Expected 1, true/);
  });
});

describe('parseChoice', () => {
  const parseColour = parseChoice(['red', 'green']);

  it('accepts one of the choices as written', () => {
    expect(parseColour('green')).toBe('green');
  });

  it('rejects anything else, listing the choices', () => {
    expect(() => parseColour('Green')).toThrow('Expected one of red, green.');
  });
});

describe('parseIntegerAtLeast', () => {
  it('accepts a whole number from the minimum up', () => {
    expect(parseIntegerAtLeast(1)('1')).toBe(1);
    expect(parseIntegerAtLeast(1)(' 400 ')).toBe(400);
  });

  it.each(['0', '-3', '1.5', '1e3', 'ten', ''])('rejects %j for a minimum of 1', (value) => {
    expect(() => parseIntegerAtLeast(1)(value)).toThrow('Expected a whole number of at least 1.');
  });
});

describe('parseBytes', () => {
  it.each([
    ['1048576', 1_048_576],
    ['100b', 100],
    ['1k', 1024],
    ['1kb', 1000],
    ['512MiB', 512 * 1024 ** 2],
    ['200MB', 200_000_000],
    ['1g', 1024 ** 3],
    ['1.5 GiB', 1.5 * 1024 ** 3],
    ['2gb', 2_000_000_000],
  ])('reads %s', (value, bytes) => {
    expect(parseBytes(value)).toBe(bytes);
  });

  it.each(['lots', '1 TB', '-1MiB', 'MiB', ''])('rejects %j', (value) => {
    expect(() => parseBytes(value)).toThrow(/Expected a size/);
  });
});

describe('parseHeadroom', () => {
  const parseTasks = parseHeadroom(parseIntegerAtLeast(1), 'a number of tasks such as 30');

  it('reads a percentage of the limit', () => {
    expect(parseTasks('12.5%')).toEqual({ percent: 12.5 });
  });

  it('reads an amount with the parser it is given', () => {
    expect(parseTasks('30')).toEqual({ amount: 30 });
    expect(parseHeadroom(parseBytes, 'a size')('512MiB')).toEqual({ amount: 512 * 1024 ** 2 });
  });

  it.each(['0%', '100%', '120%'])('rejects %s: a headroom is above 0% and below 100%', (value) => {
    expect(() => parseTasks(value)).toThrow('Expected a percentage above 0% and below 100%.');
  });

  it('rejects a bad amount, giving both accepted forms', () => {
    expect(() => parseTasks('0')).toThrow('Expected a percentage of the limit such as 20%, or a number of tasks such as 30.');
  });
});

describe('parsePatterns', () => {
  it('reads one pattern per line, trimmed, leaving out blank lines', () => {
    expect(parsePatterns(' ^npx \n\n  uvx\n')).toEqual(['^npx', 'uvx']);
  });

  it('rejects a pattern that would need backtracking', () => {
    expect(() => parsePatterns('npx\n(a)\\1')).toThrow(/linear time/);
  });

  it('rejects a value with no pattern in it', () => {
    expect(() => parsePatterns(' \n ')).toThrow('Expected at least one regular expression.');
  });
});

describe('parseExitCodes', () => {
  it('takes one status, or several from a variable (lines, commas or spaces)', () => {
    expect(parseExitCodes('143')).toEqual([143]);
    expect(parseExitCodes('143\n130, 1')).toEqual([143, 130, 1]);
  });

  it('refuses what no exit status can be', () => {
    for (const bad of ['', '256', '-1', 'TERM', '1.5']) expect(() => parseExitCodes(bad)).toThrow(/exit status from 0 to 255/);
  });
});

describe('parseSignal', () => {
  it('takes a name with or without SIG, in any case, or a number', () => {
    expect(parseSignal('TERM')).toBe('SIGTERM');
    expect(parseSignal('sigquit')).toBe('SIGQUIT');
    expect(parseSignal('9')).toBe('SIGKILL');
  });

  it('refuses what is no signal', () => {
    for (const bad of ['', 'NOPE', '0', '99']) expect(() => parseSignal(bad)).toThrow(/Expected a signal/);
  });
});

describe('parseRewrites', () => {
  it('takes FROM:TO, by name or number, and TO 0 to drop', () => {
    expect(parseRewrites('TERM:QUIT')).toEqual([{ from: 'SIGTERM', to: 'SIGQUIT' }]);
    expect(parseRewrites('15:3,USR1:0')).toEqual([
      { from: 'SIGTERM', to: 'SIGQUIT' },
      { from: 'SIGUSR1', to: null },
    ]);
  });

  it('refuses a malformed rewrite, and a FROM the init does not forward (CHLD is its own)', () => {
    for (const bad of ['TERM', 'TERM:QUIT:HUP', 'TERM:NOPE', ':QUIT']) expect(() => parseRewrites(bad)).toThrow();
    expect(() => parseRewrites('CHLD:TERM')).toThrow(/not a signal the init forwards/);
  });
});
