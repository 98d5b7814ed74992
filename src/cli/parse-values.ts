import { InvalidArgumentError } from 'commander';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** Parses a duration such as `10s`, `1500ms`, `2m` or `10` (seconds) into milliseconds. */
export function parseDurationMs(value: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new InvalidArgumentError('Expected a duration such as 10s, 1500ms, 2m or 10 (seconds).');
  return Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS]);
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
