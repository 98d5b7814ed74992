// Guard v3 as PID 1 in real cgroups, against the simulator: a storm of new sessions held under
// pids.max and not taken for a respawn loop; the orphans of launchers that lived less than a
// scan; stops that the app does not count as crashes where the server exits 0 on them; and
// the newer pool's instances handed on to new sessions spared from such stops; starts held
// back where no stop may be spent.
import { describe, expect, it } from 'vitest';
import { readStat } from '../../src/proc/read-proc.js';
import { sampleCgroup } from '../helpers/cgroup-sampler.js';
import { makePidsCgroup } from '../helpers/cgroups.js';
import { stopDecisions } from '../helpers/guard-log.js';
import { crashes, errorStates, leakSimCommand, limitHits, requestedCloses, sessionsServed, summary } from '../helpers/leak-sim.js';
import { cmdlineOf } from '../helpers/procs.js';
import { runLeak } from '../helpers/run-leak.js';
import { rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

/** 14 sessions every 2 s, never closed, then a fresh one; the server exits 0 on SIGINT. */
const runCleanExitScenario = (pidsMax: number, simArgs: string[], initArgs: string[]) =>
  runLeak({
    pidsMax,
    sessions: 14,
    everyMs: 2000,
    serverFlags: '--threads 4 --exit-zero-on-int',
    simArgs,
    initArgs: ['--stop-grace', '1s', '--interval', '500ms', ...initArgs],
  });

/** To the app none of the stops was a crash: no ERROR, nothing closed after a crash, the fresh session served, and the limit never reached. */
function expectNothingCrashed({ cgroup, samples, events }: Pick<Awaited<ReturnType<typeof runLeak>>, 'cgroup' | 'samples' | 'events'>): void {
  expect(crashes(events)).toEqual([]);
  expect(errorStates(events)).toEqual([]);
  expect(requestedCloses(events, 'cleanup-after-crash')).toEqual([]);
  expect(summary(events)?.finalSessionServed).toBe(true);
  expect(samples.peakTasks).toBeLessThan(cgroup.max);
}

describe.runIf(rootTestsEnabled())('guard v3, as PID 1 in a real pids cgroup', () => {
  it('holds a storm of new sessions, 4 trees a second, under pids.max: no failed spawn, and no respawn loop said', async () => {
    // Two servers, a never-closed tree every 250 ms for 20 s, 23 tasks each: 80 trees want
    // about 1840 tasks; the cgroup holds 200.
    const cgroup = makePidsCgroup(200);
    const sim = leakSimCommand([
      '--storm',
      '4',
      '--storm-seconds',
      '20',
      '--servers',
      '@modelcontextprotocol/server-a,@modelcontextprotocol/server-b',
      '--server-flags',
      '--threads 4',
    ]);
    const run = startInit({
      mode: 'pid1',
      prefix: cgroup.prefix,
      command: sim.command,
      initArgs: ['--max-per-command', '3', '--stop-grace', '1s', '--crash-budget', 'unlimited'],
    });
    const sampler = sampleCgroup(cgroup);
    await run.waitForStdout('scenario-done', 90_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const samples = sampler.stop();
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
    const events = sim.report();
    const stops = stopDecisions(run.logLines());
    const loops = run.logLines().filter((line) => String(line.msg).startsWith('instances of one command are stopped and started over'));
    const launches = events.filter((e) => e.event === 'launch').length;
    console.log(
      `storm of new sessions: peak ${samples.peakTasks}/${cgroup.max}, ${limitHits(events).length} failed spawns of ${launches}, ${stops.length} stops, ${loops.length} loops said`,
    );
    expect(launches).toBeGreaterThanOrEqual(70);
    expect(limitHits(events)).toEqual([]);
    expect(samples.peakTasks).toBeLessThan(cgroup.max);
    expect(loops).toEqual([]);
  }, 150_000);

  it('stops the orphans of launchers that lived 100 ms, which no scan saw, within orphan grace + stop grace + 2 intervals', async () => {
    const cgroup = makePidsCgroup(400);
    // Eight launchers, 300 ms apart, each starting a server that ignores the end of its stdin
    // and TERM, then exiting 100 ms later; the guard scans every second at most.
    const sim = leakSimCommand(['--short-launchers', '8', '--launcher-lives', '100', '--short-every', '300', '--server-flags', '--ignore-eof --ignore-term']);
    const run = startInit({
      mode: 'pid1',
      prefix: cgroup.prefix,
      command: sim.command,
      initArgs: ['--orphan-grace', '1s', '--stop-grace', '1s', '--interval', '1s'],
    });
    const init = await run.initRef();
    const orphanedAt = new Map<number, number>();
    const stoppedAt = new Map<number, number>();
    const servers = () => cgroup.pids().filter((pid) => cmdlineOf(pid).startsWith('node') && cmdlineOf(pid).includes('fake-mcp-server'));
    await waitFor(
      () => {
        const now = Date.now();
        const live = new Set(servers());
        for (const pid of live) if (readStat(pid)?.ppid === init.pid && !orphanedAt.has(pid)) orphanedAt.set(pid, now);
        for (const pid of orphanedAt.keys()) if (!live.has(pid) && !stoppedAt.has(pid)) stoppedAt.set(pid, now);
        return orphanedAt.size === 8 && stoppedAt.size === 8;
      },
      { timeoutMs: 60_000, intervalMs: 20, what: 'the 8 orphaned servers to be seen and stopped' },
    );
    const tookMs = [...orphanedAt].map(([pid, at]) => stoppedAt.get(pid)! - at);
    console.log(`orphans of 100 ms launchers stopped after ${tookMs.join(', ')} ms`);
    for (const ms of tookMs) expect(ms).toBeLessThanOrEqual(1000 + 1000 + 2 * 1000);
    const orphanStops = stopDecisions(run.logLines()).filter((line) => line.reason === 'orphan');
    expect(orphanStops).toHaveLength(8);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  }, 120_000);

  it('closes the stdin of servers, with no crash to spend: servers that die of SIGINT stop with exit 0, the app counts no crash, and no port opens', async () => {
    // MetaMCP-like by its path, so a crash budget of 0, and servers that die of SIGINT and TERM
    // (a crash each): only an exit 0, the server's own on EOF once its stdin is closed, may stop
    // anything. Sessions every 2 s that are never closed outgrow the cgroup.
    const { cgroup, samples, events, lines, stops, listening } = await runLeak({
      pidsMax: 200,
      sessions: 14,
      everyMs: 2000,
      serverFlags: '--threads 4',
      initArgs: ['--stop-grace', '1s', '--interval', '500ms'],
    });
    const ended = lines.filter((line) => String(line.msg).startsWith('stopped MCP instance'));
    console.log(
      `stdin closes: ${sessionsServed(events).length}/14 served, final ${summary(events)?.finalSessionServed}, peak ${samples.peakTasks}/${cgroup.max}, ` +
        `${stops.length} stops (${ended.filter((l) => l.endedBy === 'close-stdin').length} ended on EOF), ${crashes(events).length} crashes, ` +
        `${listening.polls} polls for LISTEN sockets`,
    );
    expect(stops.length).toBeGreaterThan(0);
    expect(stops.filter((line) => line.orphaned !== true).every((line) => line.method === 'close-stdin' && line.cost === 'clean')).toBe(true);
    expect(ended.filter((line) => line.endedBy === 'close-stdin').length).toBeGreaterThan(0);
    // Each launcher the guard stopped exited 0: the app saw an exit it does not count.
    const stoppedPids = new Set(ended.map((line) => line.launcherPid));
    const exits = events.filter((e) => e.event === 'exit' && stoppedPids.has(e.launcherPid));
    expect(exits.length).toBeGreaterThan(0);
    expect(exits.every((e) => e.code === 0 && e.signal === null)).toBe(true);
    expect(listening.holders).toEqual([]);
    expectNothingCrashed({ cgroup, samples, events });
  }, 240_000);

  it('stops a server that exits 0 on SIGINT cleanly: the app counts no crash and keeps its other instances', async () => {
    // The MetaMCP pool, told to tolerate 1000 crashes and the guard that it may spend 999 (the
    // README's advice): the simulator still counts every crash. Sessions every 2 s that are never
    // closed outgrow the cgroup; each stop is a SIGINT to the server (signals only: no
    // close of its stdin comes first).
    const { cgroup, samples, events, lines, stops } = await runCleanExitScenario(200, [], ['--crash-budget', '999', '--signals-only']);
    const ended = lines.filter((line) => String(line.msg).startsWith('stopped MCP instance'));
    const lessons = lines.filter((line) => line.msg === 'learnt how the app takes a stop of this key');
    console.log(
      `clean stops: ${sessionsServed(events).length}/14 served, final ${summary(events)?.finalSessionServed}, peak ${samples.peakTasks}/${cgroup.max}, ` +
        `${stops.length} stops (${ended.filter((l) => l.endedBy === 'interrupt').length} ended on SIGINT), ${crashes(events).length} crashes`,
    );
    expect(stops.length).toBeGreaterThan(0);
    expect(stops.every((line) => line.method === 'interrupt')).toBe(true);
    expect(ended.length).toBeGreaterThan(0);
    expect(ended.every((line) => line.endedBy === 'interrupt')).toBe(true);
    expect(lessons.some((line) => line.interrupt === 'clean')).toBe(true);
    expectNothingCrashed({ cgroup, samples, events });
  }, 240_000);

  it('spares the instances the newer pool hands on: sessions sharing the oldest at its per-server cap are still served', async () => {
    // MetaMCP's newer pool keeps a client whose server exited 0 (not a crash: nothing clears
    // it), and past its per-server cap of 5 every new session shares the oldest session's
    // instance. A clean stop of that one, or of the idle spare, is a dead client handed on.
    // A high mark of 80 tasks, below what the pool keeps of its one server at its cap, and a
    // critical mark of 190, far above it: every stop comes at the high mark, where the crashes
    // the app tolerates let the guard try SIGINT and learn that it ends cleanly, and no
    // starting tree goes. The low mark is 0: the guard stops all it may.
    const { cgroup, samples, events, stops } = await runCleanExitScenario(
      300,
      ['--pool', 'newer'],
      ['--crash-budget', '999', '--pids-headroom', '220', '--app-tolerates-crashes'],
    );
    const shared = events.filter((event) => event.event === 'shared');
    console.log(
      `newer pool, clean stops: ${sessionsServed(events).length}/14 served, final ${summary(events)?.finalSessionServed}, ` +
        `peak ${samples.peakTasks}/${cgroup.max}, ${stops.length} stops, ${shared.length} sessions shared an instance, ${crashes(events).length} crashes`,
    );
    // The pool reached its cap and shared, and the guard stopped something: the case is met.
    expect(shared.length).toBeGreaterThan(0);
    expect(stops.length).toBeGreaterThan(0);
    expect(sessionsServed(events).length).toBe(14);
    expect(summary(events)?.finalSessionServed).toBe(true);
    expect(crashes(events)).toEqual([]);
    expect(samples.peakTasks).toBeLessThan(cgroup.max);
  }, 240_000);

  it('with no crash to spend, holds starts back: no more refusals by the kernel than the same run without holds, and no crash stop', async () => {
    // MetaMCP-like (budget 0): 10 abandoned sessions in 5 s want about 250 tasks of 150, and no
    // instance may be stopped. The app gives up on a server that has not answered in 8 s, and
    // closes it by TERM to its group: a held tree goes on to end, a close it asked for. What
    // holds cannot keep from the limit is the app's own spawn of a new launcher (a node of 11
    // tasks, refused before any scan sees it): so the claim is against the same run without.
    const leak = (maxStarting: string) =>
      runLeak({
        pidsMax: 150,
        sessions: 10,
        everyMs: 500,
        serverFlags: '--threads 4',
        simArgs: ['--connect-timeout', '8000'],
        initArgs: ['--stop-grace', '1s', '--interval', '500ms', '--max-starting', maxStarting],
      });
    const held = await leak('4');
    const unheld = await leak('0');
    const holds = held.lines.filter((line) => String(line.msg).startsWith('holding a starting MCP instance back'));
    const refused = { held: limitHits(held.events).length, unheld: limitHits(unheld.events).length };
    const crashed = { held: crashes(held.events).length, unheld: crashes(unheld.events).length };
    console.log(
      `no crash to spend: with holds peak ${held.samples.peakTasks}/150, ${refused.held} failed spawns, ${crashed.held} crashes, ${holds.length} holds, ${sessionsServed(held.events).length}/10 served; ` +
        `without: peak ${unheld.samples.peakTasks}/150, ${refused.unheld} failed spawns, ${crashed.unheld} crashes, ${sessionsServed(unheld.events).length}/10 served`,
    );
    expect(holds.length).toBeGreaterThan(0);
    expect(unheld.lines.some((line) => String(line.msg).startsWith('holding a starting MCP instance back'))).toBe(false);
    // The app sees the kernel refusing a fork in one of two ways: its own spawn of a launcher
    // fails, or a starting tree aborts (a crash to it). Either is the kernel's, never the
    // guard's (it makes no crash stop). Quiet, the run without holds had 69 of them and the one
    // with holds 0-8 from one run to the next (the app's spawns, which no scan sees before they
    // fail); one run with holds had 1 abort where the one without had none, another run 2
    // without and none with; on a loaded machine the starts come slower and both had few (2
    // and 0). So the claim is the sum: never more with holds.
    expect(refused.held + crashed.held).toBeLessThanOrEqual(refused.unheld + crashed.unheld);
    for (const run of [held, unheld]) expect(run.stops.filter((line) => line.cost === 'crash')).toEqual([]);
  }, 420_000);

  it('never takes the app for an instance though its argv names mcp-servers.json: pressed past the high mark it stops servers, and the app serves to the end', async () => {
    // The main child is sh; the app, its child, runs with --config /app/mcp-servers.json, which
    // once made the app itself one instance of all its servers, and the victim at the critical
    // mark. With signals only and no holds, every stop is a crash the budget pays for, made only
    // when the limit is near (urgent: the starts would reach it; critical): there the guard must
    // pick a server, never the app.
    const { cgroup, samples, events, stops, run } = await runLeak({
      pidsMax: 200,
      sessions: 14,
      everyMs: 1000,
      serverFlags: '--threads 4',
      simArgs: ['--config', '/app/mcp-servers.json'],
      viaShell: true,
      initArgs: ['--stop-grace', '1s', '--interval', '500ms', '--signals-only', '--max-starting', '0', '--crash-budget', '999'],
    });
    const shell = run.logLines().find((line) => line.msg === 'started main child')?.childPid as number | undefined;
    const pressed = stops.filter((line) => line.pressure === 'urgent' || line.pressure === 'critical');
    console.log(
      `app with mcp-servers.json in its argv: ${sessionsServed(events).length}/14 served, final ${summary(events)?.finalSessionServed}, ` +
        `peak ${samples.peakTasks}/${cgroup.max}, ${stops.length} stops (pressure: ${stops.map((line) => line.pressure).join(' ')})`,
    );
    expect(pressed.length).toBeGreaterThan(0);
    const launchers = new Set(events.filter((e) => e.event === 'launch').map((e) => e.launcherPid as number));
    // Every stop was of a launcher the app started, never of the app or its shell.
    expect(stops.filter((line) => line.orphaned !== true).every((line) => launchers.has(line.launcherPid as number))).toBe(true);
    expect(shell).toBeDefined();
    expect(stops.map((line) => line.launcherPid)).not.toContain(shell);
    expect(summary(events)?.finalSessionServed).toBe(true);
  }, 240_000);

  it('in front of an app that looks like MetaMCP, makes no stop it would count as a crash unless told its budget', async () => {
    // The simulator is MetaMCP-like by its path; one attempt, MetaMCP's released default.
    const cgroup = makePidsCgroup(200);
    const sim = leakSimCommand(['--sessions', '10', '--session-every', '1500', '--max-attempts', '1', '--server-flags', '--threads 4']);
    const run = startInit({ mode: 'pid1', prefix: cgroup.prefix, command: sim.command, initArgs: ['--stop-grace', '1s', '--interval', '500ms'] });
    await run.waitForStdout('scenario-done', 180_000);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
    const lines = run.logLines();
    expect(lines.some((line) => String(line.msg).startsWith('the app looks like MetaMCP: the guard makes no stop it would count as a crash'))).toBe(true);
    const stops = stopDecisions(lines);
    console.log(`MetaMCP-like app, default budget: ${stops.length} stops, of them ${stops.filter((l) => l.cost === 'crash').length} that may be crashes`);
    expect(stops.filter((line) => line.cost === 'crash' && line.orphaned !== true)).toEqual([]);
  }, 240_000);
});
