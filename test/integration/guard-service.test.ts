// The guard's first duty is to do no harm to the app: against the MetaMCP simulator, in a
// real pids cgroup as PID 1, what counts is the sessions served, not only pids.current.
import { describe, expect, it } from 'vitest';
import { crashes, errorStates, finalSession, limitHits, sessions, sessionsServed, summary } from '../helpers/leak-sim.js';
import { finalSessionStory, runLeak } from '../helpers/run-leak.js';
import { rootTestsEnabled } from '../helpers/start-init.js';

/** The most stops of one key within any 60 s. */
function maxStopsPerKeyPerMinute(lines: Record<string, unknown>[]): number {
  const byKey = new Map<string, number[]>();
  for (const line of lines) byKey.set(String(line.key), [...(byKey.get(String(line.key)) ?? []), Date.parse(String(line.time))]);
  let most = 0;
  for (const times of byKey.values()) for (const t of times) most = Math.max(most, times.filter((u) => u >= t && u < t + 60_000).length);
  return most;
}

describe.runIf(rootTestsEnabled())('the guard keeps MetaMCP serving (simulator, PID 1, real pids cgroup)', () => {
  // One tree: launcher 11 tasks + sh 1 + server 11 (4 worker threads) = 23, as a real npx server.
  const serverFlags = '--threads 4';

  it('serves every abandoned session and a fresh one, and never reaches pids.max', async () => {
    // One session every 2 s: between two of them the server is quiet for a moment, as with
    // MetaMCP's real clients (and 20 trees of 23 tasks cannot fit in 200).
    const { cgroup, samples, events, stops, lines } = await runLeak({
      serverFlags,
      pidsMax: 200,
      sessions: 20,
      everyMs: 2000,
      // MCP_MAX_ATTEMPTS 1000, as the app is told: the guard may spend 999 of them.
      initArgs: ['--stop-grace', '1s', '--interval', '500ms', '--start-grace', '3s', '--crash-budget', '999'],
    });
    const report = summary(events)!;
    console.log(
      `leak with guard: ${sessionsServed(events).length}/20 served, final ${finalSession(events)?.served} (${finalSession(events)?.reason}), ` +
        `peak ${samples.peakTasks}/${cgroup.max}, ${stops.length} stops (${maxStopsPerKeyPerMinute(stops)} per key per minute at most), ${report.crashes} crashes`,
    );
    // All 20 on a quiet machine; a loaded one slows every start, and a session may time out.
    expect(sessionsServed(events).length).toBeGreaterThanOrEqual(18);
    expect(finalSession(events)?.served, finalSessionStory(events, lines)).toBe(true);
    expect(errorStates(events)).toEqual([]);
    expect(limitHits(events)).toEqual([]);
    expect(samples.peakTasks).toBeLessThan(cgroup.max);
    // The leak needed stops: 24 trees of 23 tasks cannot fit in 200.
    expect(stops.length).toBeGreaterThan(0);
    // No stop is of an instance serving a request: idle ones are always there to go first.
    // A starting one may go only at the critical mark, or where the trees starting, grown,
    // would reach the limit itself (one tree of 23 tasks takes pids.current from under the
    // high watermark, 160, to 181 in one step here).
    expect(stops.filter((line) => line.busy === true)).toEqual([]);
    expect(stops.filter((line) => line.starting === true && line.pressure !== 'critical' && Number(line.projected) < cgroup.max)).toEqual([]);
  }, 240_000);

  it('without the guard the same leak reaches pids.max and the app counts aborted launchers as crashes', async () => {
    // The app's own shutdown at a full pids cgroup can take more than the default 10 s of grace
    // (seen in CI: killed at the end of it, exit 137): it is given 30 s, as the claim is the leak.
    const { cgroup, samples, events } = await runLeak({ serverFlags, pidsMax: 200, sessions: 24, everyMs: 1000, initArgs: ['--guard-off', '--grace', '30s'] });
    console.log(`leak without guard: ${sessionsServed(events).length}/24 served, peak ${samples.peakTasks}/${cgroup.max}, ${limitHits(events).length} aborts`);
    expect(samples.peakTasks).toBeGreaterThanOrEqual(cgroup.max);
    expect(limitHits(events).length).toBeGreaterThan(0);
  }, 240_000);

  it('with busy sessions too, stops only idle instances and never livelocks', async () => {
    const { cgroup, samples, events, stops, lines } = await runLeak({
      serverFlags,
      pidsMax: 200,
      sessions: 24,
      everyMs: 1000,
      simArgs: ['--busy-share', '0.25', '--use-every', '1000'],
      // MCP_MAX_ATTEMPTS 1000, as the app is told: the guard may spend 999 of them.
      initArgs: ['--stop-grace', '1s', '--interval', '500ms', '--start-grace', '3s', '--crash-budget', '999'],
    });
    console.log(
      `leak with busy sessions: ${sessionsServed(events).length}/24 served, final ${finalSession(events)?.served} (${finalSession(events)?.reason}), ` +
        `peak ${samples.peakTasks}/${cgroup.max}, ${stops.length} stops (${maxStopsPerKeyPerMinute(stops)} per key per minute), ` +
        `${crashes(events).filter((e) => e.inFlight || e.starting).length} of busy or starting instances`,
    );
    expect(samples.peakTasks).toBeLessThan(cgroup.max);
    expect(finalSession(events)?.served, finalSessionStory(events, lines)).toBe(true);
    expect(errorStates(events)).toEqual([]);
    expect(sessionsServed(events).length).toBeGreaterThanOrEqual(22);
    // A livelock stops what the app starts again. Without one, every stop is of a tree some
    // abandoned session left, of the idle instance the pool keeps (with the final session's,
    // two), or of a starting tree, whose session then starts one more: never more stops than
    // that. Seen: 10 on a quiet machine, 15 in CI and with two busy loops beside it.
    const abandoned = sessions(events).filter((s) => !s.final && !s.busy && !s.closed).length;
    const ofStarting = stops.filter((line) => line.starting === true).length;
    expect(stops.length).toBeLessThanOrEqual(abandoned + 2 + ofStarting);
  }, 240_000);

  it('at a storm pace the machine cannot keep up with, never livelocks and still serves the last session', async () => {
    const { cgroup, samples, events, stops, lines } = await runLeak({
      serverFlags,
      pidsMax: 150,
      sessions: 30,
      everyMs: 300,
      // MCP_MAX_ATTEMPTS 1000, as the app is told: the guard may spend 999 of them.
      initArgs: ['--stop-grace', '1s', '--interval', '500ms', '--start-grace', '3s', '--crash-budget', '999'],
    });
    const launches = events.filter((e) => e.event === 'launch').length;
    console.log(
      `storm of sessions with guard: ${sessionsServed(events).length}/30 served, final ${finalSession(events)?.served} (${finalSession(events)?.reason}), ` +
        `peak ${samples.peakTasks}/${cgroup.max}, ${stops.length} stops (${maxStopsPerKeyPerMinute(stops)} per key per minute), ${launches} launches, ` +
        `${limitHits(events).length} aborts`,
    );
    expect(finalSession(events)?.served, finalSessionStory(events, lines)).toBe(true);
    expect(errorStates(events)).toEqual([]);
    // A livelock stops what the app starts again, over and over: stops would be nearly every
    // launch. Seen: 0.62-0.72 of launches alone, 0.78 once in CI with other tests beside it.
    expect(stops.length).toBeLessThan(launches * 0.9);
    expect(sessionsServed(events).length).toBeGreaterThanOrEqual(15);
  }, 240_000);
});
