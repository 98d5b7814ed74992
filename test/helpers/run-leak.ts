// The simulator's leak (abandoned sessions, then a fresh one) under the init as PID 1 in a
// real pids cgroup, run to its end: what the app, the cgroup and the init saw.
import { expect } from 'vitest';
import { sampleCgroup } from './cgroup-sampler.js';
import { makePidsCgroup } from './cgroups.js';
import { stopDecisions } from './guard-log.js';
import { finalSession, leakSimCommand, type SimEvent } from './leak-sim.js';
import { watchListenSockets } from './listen-watch.js';
import { startInit } from './start-init.js';

export type LeakRun = {
  pidsMax: number;
  sessions: number;
  everyMs: number;
  /** The simulated servers' flags: `--threads 4` makes a tree of 23 tasks, as a real npx server. */
  serverFlags: string;
  initArgs: string[];
  simArgs?: string[];
  /** The main child is `sh`, which runs the app and waits for it: the app is then a child of the main child, as under a shell entrypoint. */
  viaShell?: boolean;
};

/** Abandoned sessions at `everyMs` with MCP_MAX_ATTEMPTS 1000, then a fresh session 3 s later. */
export async function runLeak(options: LeakRun) {
  const cgroup = makePidsCgroup(options.pidsMax);
  const sim = leakSimCommand([
    '--sessions',
    String(options.sessions),
    '--session-every',
    String(options.everyMs),
    '--max-attempts',
    '1000',
    '--final-session',
    '--final-after',
    '3000',
    '--server-flags',
    options.serverFlags,
    ...(options.simArgs ?? []),
  ]);
  // A shell that passes TERM on to the app and exits with the app's status, as an entrypoint script should.
  const shell = 'trap \'kill -TERM $pid\' TERM; "$@" & pid=$!; while kill -0 $pid 2>/dev/null; do wait $pid; status=$?; done; exit $status';
  const command = options.viaShell ? ['sh', '-c', shell, 'sh', ...sim.command] : sim.command;
  const run = startInit({ mode: 'pid1', prefix: cgroup.prefix, command, initArgs: options.initArgs });
  const sampler = sampleCgroup(cgroup);
  const listenWatch = watchListenSockets(cgroup);
  await run.waitForStdout('scenario-done', 180_000);
  const samples = sampler.stop();
  const listening = listenWatch.stop();
  await run.signal('SIGTERM');
  const { code } = await run.exited;
  const events = sim.report();
  // When the init did not end as the app did, its warnings and the app's last events say why.
  const said = run.logLines().filter((line) => line.level === 'warn' || line.level === 'error' || line.level === 'fatal');
  expect(code, JSON.stringify({ init: said.slice(-5), app: events.slice(-5) })).toBe(0);
  const lines = run.logLines();
  return { cgroup, samples, events, lines, stops: stopDecisions(lines), run, listening };
}

/**
 * What the app and the guard did from a second before the final session opened (`atMs` from
 * its opening): the message of a failed claim that the final session was served, so that a
 * failure in CI says why.
 */
export function finalSessionStory(events: readonly SimEvent[], lines: readonly Record<string, unknown>[]): string {
  const final = finalSession(events);
  if (!final) return 'no final session';
  const fromMs = final.t - final.ms - 1000;
  const app = events.filter((e) => e.t >= fromMs && e.event !== 'summary').map((e) => ({ ...e, t: undefined, atMs: e.t - fromMs - 1000 }));
  const guard = lines
    .filter((line) => Date.parse(String(line.time)) >= fromMs && line.launcherPid !== undefined)
    .map((line) => ({
      atMs: Date.parse(String(line.time)) - fromMs - 1000,
      msg: line.msg,
      launcherPid: line.launcherPid,
      method: line.method,
      pressure: line.pressure,
      endedBy: line.endedBy,
    }));
  return JSON.stringify({ final, app: app.slice(0, 40), guard: guard.slice(0, 40) });
}
