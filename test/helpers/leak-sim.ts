// Runs the leak simulator (test/fixtures/leak-sim) and reads what it reports.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from './start-init.js';

export const LEAK_SIM = `${FIXTURES}leak-sim/metamcp-like.js`;

export type SimEvent = { t: number; event: string; code?: string | number | null; signal?: string | null; launcherPid?: number; pkg?: string };

/** A fresh report file path and the simulator's command line with it. */
export function leakSimCommand(args: string[]): { command: string[]; report: () => SimEvent[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'leak-sim-')), 'report.jsonl');
  return {
    command: [process.execPath, LEAK_SIM, '--report-file', file, ...args],
    report: () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as SimEvent) : []),
  };
}

/** Events that show the app hit the pids limit: EAGAIN on spawn, or a launcher Node aborted. */
export function limitHits(events: readonly SimEvent[]): SimEvent[] {
  return events.filter((e) => (e.event === 'spawn-error' && e.code === 'EAGAIN') || (e.event === 'exit' && (e.signal === 'SIGABRT' || e.code === 134)));
}
