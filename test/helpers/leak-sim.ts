// Runs the leak simulator (test/fixtures/leak-sim) and reads what it reports.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { FIXTURES } from './start-init.js';

export const LEAK_SIM = `${FIXTURES}leak-sim/metamcp-like.js`;

/** Why the simulator closed an instance itself (a requested close, never a crash). */
export type CloseReason = 'cleanup-after-crash' | 'session-closed' | 'connect-failed' | 'extra-idle' | 'shutdown';

/** One line of the report; `event` says which fields are set. */
export type SimEvent = {
  t: number;
  event: string;
  code?: string | number | null;
  signal?: string | null;
  launcherPid?: number;
  pkg?: string;
  server?: string;
  /** launch: 'idle' (the pool's spare), 'session' (started for a session), absent outside the pool. */
  purpose?: 'idle' | 'session';
  /** close */
  why?: CloseReason;
  how?: 'term-group' | 'term-launcher';
  /** crash and error-state */
  count?: number;
  maxAttempts?: number;
  inFlight?: boolean;
  starting?: boolean;
};

export type SessionEvent = SimEvent & {
  event: 'session';
  id: string;
  served: boolean;
  reason: string;
  ms: number;
  final: boolean;
  busy: boolean;
  closed: boolean;
  launcherPids: number[];
};

export type SummaryEvent = SimEvent & {
  event: 'summary';
  sessions: { served: number; total: number };
  finalSessionServed: boolean | null;
  crashes: number;
  errorServers: string[];
  launches: number;
  closes: number;
};

/** A fresh report file path, removed when the test ends, and the simulator's command line with it. */
export function leakSimCommand(args: string[]): { command: string[]; report: () => SimEvent[] } {
  const dir = mkdtempSync(join(tmpdir(), 'leak-sim-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'report.jsonl');
  return { command: [process.execPath, LEAK_SIM, '--report-file', file, ...args], report: () => readSimReport(file) };
}

/** The events of a simulator's report file so far (none before it is written). */
export function readSimReport(file: string): SimEvent[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SimEvent)
    : [];
}

/** Events that show the app hit the pids limit: EAGAIN on spawn, or a launcher Node aborted. */
export function limitHits(events: readonly SimEvent[]): SimEvent[] {
  return events.filter((e) => (e.event === 'spawn-error' && e.code === 'EAGAIN') || (e.event === 'exit' && (e.signal === 'SIGABRT' || e.code === 134)));
}

/** Every client session's outcome, the final one included. */
export function sessions(events: readonly SimEvent[]): SessionEvent[] {
  return events.filter((e): e is SessionEvent => e.event === 'session');
}

/** The sessions (not the final one) that got tools and an echo answer. */
export function sessionsServed(events: readonly SimEvent[]): SessionEvent[] {
  return sessions(events).filter((e) => !e.final && e.served);
}

/** The fresh session opened after the scenario, if it was asked for. */
export function finalSession(events: readonly SimEvent[]): SessionEvent | undefined {
  return sessions(events).find((e) => e.final);
}

/** Exits the simulator counted as crashes (MetaMCP's onprocesscrash). */
export function crashes(events: readonly SimEvent[]): SimEvent[] {
  return events.filter((e) => e.event === 'crash');
}

/** Instances the simulator closed itself, optionally only for one reason. */
export function requestedCloses(events: readonly SimEvent[], why?: CloseReason): SimEvent[] {
  return events.filter((e) => e.event === 'close' && (why === undefined || e.why === why));
}

/** Servers marked ERROR (at --max-attempts crashes). */
export function errorStates(events: readonly SimEvent[]): SimEvent[] {
  return events.filter((e) => e.event === 'error-state');
}

/** The summary written once the scenario (and the final session) is over. */
export function summary(events: readonly SimEvent[]): SummaryEvent | undefined {
  return events.find((e): e is SummaryEvent => e.event === 'summary');
}
