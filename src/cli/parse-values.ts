import { InvalidArgumentError } from 'commander';
import type { Headroom } from '../guard/headroom.js';
import { compilePattern } from '../guard/launcher-patterns.js';
import { FORWARDED_SIGNALS, type SignalRewrite, signalNamed } from '../init/signals.js';
import { type ListenAddress, parseListenAddress } from '../report/listen-address.js';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * The longest duration accepted: 24 days. Node's timers hold at most 2^31-1 ms (24.8 days)
 * and turn anything longer into 1 ms, so a longer grace would end at once (issue 8).
 */
export const MAX_DURATION_MS = 24 * UNIT_MS.d;

/** Parses a duration such as `10s`, `1500ms`, `2m`, `1h`, `1d` or `10` (seconds) into milliseconds, at most 24 days. */
export function parseDurationMs(value: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new InvalidArgumentError('Expected a duration such as 10s, 1500ms, 2m, 1h or 10 (seconds).');
  const ms = Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS]);
  if (ms > MAX_DURATION_MS)
    throw new InvalidArgumentError(`Expected a duration of at most 24 days (${MAX_DURATION_MS / 1000}s), the longest a timer can hold.`);
  return ms;
}

/** Parses a duration that must be more than zero. */
export function parsePositiveDurationMs(value: string): number {
  const ms = parseDurationMs(value);
  if (ms <= 0) throw new InvalidArgumentError('Expected a duration above zero, such as 1s or 250ms.');
  return ms;
}

const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off', ''];

/** Parses a boolean environment value: 1/true/yes/on or 0/false/no/off. */
export function parseBoolean(value: string): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  throw new InvalidArgumentError('Expected 1, true, yes, on, 0, false, no or off.');
}

/** A parser that accepts one of `choices`. */
export function parseChoice<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(`Expected one of ${choices.join(', ')}.`);
  };
}

/** Parses a whole number of at least `min`. */
export function parseIntegerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value.trim());
    if (!/^\d+$/.test(value.trim()) || n < min) throw new InvalidArgumentError(`Expected a whole number of at least ${min}.`);
    return n;
  };
}

/** A whole number of at least 0, or `unlimited` (Infinity). */
export function parseCountOrUnlimited(value: string): number {
  const text = value.trim().toLowerCase();
  if (text === 'unlimited') return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('Expected a whole number such as 2, or unlimited.');
  return Number(text);
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses a size such as `512MiB`, `1g`, `200MB` or `1048576` (bytes) into bytes. */
export function parseBytes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new InvalidArgumentError('Expected a size such as 512MiB, 1GiB, 200MB or a number of bytes.');
  return Math.round(Number(match[1]) * unit);
}

/** Parses a headroom: a percentage of the limit (`20%`) or an amount parsed by `parseAmount`. */
export function parseHeadroom(parseAmount: (value: string) => number, example: string): (value: string) => Headroom {
  return (value) => {
    const percent = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
    if (percent) {
      const n = Number(percent[1]);
      if (n <= 0 || n >= 100) throw new InvalidArgumentError('Expected a percentage above 0% and below 100%.');
      return { percent: n };
    }
    try {
      return { amount: parseAmount(value) };
    } catch {
      throw new InvalidArgumentError(`Expected a percentage of the limit such as 20%, or ${example}.`);
    }
  };
}

/**
 * Parses one or more regular expressions, one per line. Each must compile both as a
 * JavaScript regex and for RE2, which matches in linear time: no backreferences, no lookaround.
 */
export function parsePatterns(value: string): string[] {
  const patterns = value
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  for (const pattern of patterns) {
    try {
      compilePattern(pattern);
    } catch (error) {
      throw new InvalidArgumentError(`Expected a regular expression that runs in linear time; ${(error as Error).message}.`);
    }
  }
  if (patterns.length === 0) throw new InvalidArgumentError('Expected at least one regular expression.');
  return patterns;
}

/** Parses `ip:port` for a listener: numeric only, so that no DNS lookup is ever made. */
export function parseListen(value: string): ListenAddress {
  const parsed = parseListenAddress(value);
  if (typeof parsed === 'string') throw new InvalidArgumentError(parsed);
  return parsed;
}

/** Words of a repeatable value given in one variable: one per line, or separated by commas or spaces. */
function itemsOf(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

/** Parses one or more exit statuses (0-255), for --remap-exit. */
export function parseExitCodes(value: string): number[] {
  const items = itemsOf(value);
  if (items.length === 0 || items.some((item) => !/^\d+$/.test(item) || Number(item) > 255))
    throw new InvalidArgumentError('Expected an exit status from 0 to 255, such as 143.');
  return items.map(Number);
}

/** Parses a signal by name (TERM, SIGTERM) or number (15). */
export function parseSignal(value: string): NodeJS.Signals {
  const signal = signalNamed(value);
  if (!signal) throw new InvalidArgumentError('Expected a signal such as TERM, SIGTERM or 15.');
  return signal;
}

/** Parses one or more `from:to` signal rewrites, `to` 0 to drop `from`, for --rewrite. */
export function parseRewrites(value: string): SignalRewrite[] {
  const items = itemsOf(value);
  if (items.length === 0) throw new InvalidArgumentError('Expected FROM:TO, such as TERM:QUIT, or USR1:0 to drop USR1.');
  return items.map((item) => {
    const [fromText, toText, extra] = item.split(':');
    if (fromText === undefined || toText === undefined || extra !== undefined)
      throw new InvalidArgumentError(`Expected FROM:TO, such as TERM:QUIT, or USR1:0 to drop USR1; got '${item}'.`);
    const from = parseSignal(fromText);
    if (!FORWARDED_SIGNALS.includes(from))
      throw new InvalidArgumentError(`${from} is not a signal the init forwards (${FORWARDED_SIGNALS.map((s) => s.slice(3)).join(', ')}).`);
    return { from, to: toText.trim() === '0' ? null : parseSignal(toText) };
  });
}
