import pino, { type Logger } from 'pino';
import type * as PinoPretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty' | 'auto';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'pretty'];

/**
 * The init's logger: pino lines on stderr, never stdout (the child owns stdout: stdio MCP
 * speaks on it). Writes are synchronous, in this thread: an async destination or a pino
 * transport would start threads, and threads count against pids.max (docs/facts.md). The
 * bundle carries pino without its transports (build.mjs): `transport` would throw.
 */
export function createLogger(level: LogLevel, format: LogFormat): Logger {
  const stderr = pino.destination({ fd: 2, sync: true });
  // A closed or broken stderr must not bring PID 1 down: the log line is lost, nothing else.
  stderr.on('error', () => {});
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  // Loaded only when asked for: most containers log JSON, and its modules cost memory.
  const prettify = pretty
    ? (require('pino-pretty') as typeof PinoPretty).prettyFactory({ colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l' })
    : undefined;
  const destination = prettify ? { write: (line: string) => stderr.write(prettify(line)) } : stderr;
  return pino(
    {
      name: 'metamcp-init',
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names read better in `docker logs`; pino-pretty wants the numbers.
      ...(prettify ? {} : { formatters: { level: (label: string) => ({ level: label }) } }),
    },
    destination,
  );
}
