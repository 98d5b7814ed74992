import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { readChildPids, readStat } from '../../src/proc/read-proc.js';
import { makePidsCgroup } from '../helpers/cgroups.js';
import { stopDecisions } from '../helpers/guard-log.js';
import { leakSimCommand } from '../helpers/leak-sim.js';
import { cmdlineOf, isAlive, killTree, refOf } from '../helpers/procs.js';
import { quickTrims } from '../helpers/quick-trims.js';
import { FIXTURES, type RunningInit, rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

function stopLines(run: RunningInit) {
  return stopDecisions(run.logLines());
}

const strangers: ChildProcess[] = [];
afterEach(() => {
  for (const child of strangers.splice(0)) if (child.pid && child.exitCode === null && child.signalCode === null) killTree(refOf(child.pid));
});

// A guard that trims the app to one instance within a second or two, whatever a trim costs.
// The app runs four: a SIGINT spares a key's oldest and youngest (those a pool hands on), so
// two stops need two in between.
const QUICK_TRIMS = quickTrims(['--max-instances', '1']);

describe('the guard touches only what the app started', () => {
  it('as a subreaper, leaves alone an npx that is not its descendant', async () => {
    // What `npx metamcp-init -- …` on a developer's machine sees: other npm exec processes.
    const stranger = spawn(process.execPath, ['-e', "process.title = 'npm exec @modelcontextprotocol/server-everything'; setInterval(() => {}, 1e9)"], {
      stdio: 'ignore',
    });
    strangers.push(stranger);
    const strangerRef = await waitFor(() => cmdlineOf(stranger.pid!).startsWith('npm exec') && refOf(stranger.pid!), {
      what: 'the stranger to take its title',
    });
    const sim = leakSimCommand(['--sessions-never-closed', '4']);
    const run = startInit({
      mode: 'subreaper',
      command: sim.command,
      initArgs: QUICK_TRIMS,
    });
    await run.waitForStdout('scenario-done', 30_000);
    await waitFor(() => stopLines(run).length >= 2, { timeoutMs: 30_000, what: "two of the app's instances to be stopped" });
    const appLaunchers = new Set(
      sim
        .report()
        .filter((e) => e.event === 'launch')
        .map((e) => e.launcherPid),
    );
    expect(stopLines(run).every((line) => appLaunchers.has(line.launcherPid as number))).toBe(true);
    expect(isAlive(strangerRef)).toBe(true);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it.runIf(rootTestsEnabled())("under a PID 1 titled npm exec (ENTRYPOINT npx), never signals PID 1's group: no kill(-1)", async () => {
    const sim = leakSimCommand(['--sessions-never-closed', '4']);
    const run = startInit({
      mode: 'subreaper',
      // setsid: PID 1 leads its own group and session, as a container's first process does.
      prefix: [
        'unshare',
        '--pid',
        '--fork',
        '--mount-proc',
        'setsid',
        process.execPath,
        `${FIXTURES}titled-parent.js`,
        'npm exec @modelcontextprotocol/server-everything',
      ],
      command: sim.command,
      initArgs: QUICK_TRIMS,
    });
    await run.waitForStdout('scenario-done', 30_000);
    await waitFor(() => stopLines(run).length >= 2, { timeoutMs: 30_000, what: "two of the app's instances to be stopped" });
    for (const line of stopLines(run)) expect(line.launcherPid as number).toBeGreaterThan(3);
    // The app would exit on a TERM aimed at its group or at everyone: it is still running.
    expect(run.stdout().toString()).not.toContain('closing');
    expect(run.process.exitCode).toBeNull();
    expect(run.logLines().some((line) => line.msg === 'main child exited; nothing left, exiting')).toBe(false);
    // unshare forwards no signal: TERM goes to the namespace's PID 1, which passes it on.
    const pid1 = await waitFor(() => readChildPids(run.process.pid!)?.[0], { what: 'PID 1 of the namespace' });
    process.kill(pid1, 'SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it.runIf(rootTestsEnabled())("as PID 1, leaves alone what docker exec left behind, and still stops the app's orphans", async () => {
    const cgroup = makePidsCgroup(400);
    const sim = leakSimCommand(['--close-kills-launcher', '2', '--server-flags', '--ignore-eof --ignore-term']);
    const run = startInit({
      mode: 'pid1',
      prefix: cgroup.prefix,
      command: sim.command,
      initArgs: ['--orphan-grace', '1s', '--stop-grace', '1s', '--interval', '200ms'],
    });
    const init = await run.initRef();
    // As `docker exec`: enter the namespace from outside, leave a process behind and go.
    // docker exec also puts its process in the container's cgroup.
    for (const script of ['exec -a "tail -f /var/log/mcp-server.log" sleep 1000 &', 'setsid bash -c \'exec -a "vim src/mcp-server.ts" sleep 1000\' &']) {
      const inCgroup = `echo $$ > ${cgroup.path}/cgroup.procs; ${script}`;
      expect(spawnSync('nsenter', ['-t', String(init.pid), '-p', '-m', 'bash', '-c', inCgroup], { stdio: 'ignore' }).status).toBe(0);
    }
    const leftBehind = () => cgroup.pids().filter((pid) => /^(tail|vim) /.test(cmdlineOf(pid)) && readStat(pid)?.ppid === init.pid);
    const left = (await waitFor(() => leftBehind().length === 2 && leftBehind(), { what: 'the docker-exec leftovers' })).map(refOf);
    const leftAtMs = Date.now();
    await waitFor(() => stopLines(run).filter((line) => line.reason === 'orphan').length === 2, {
      timeoutMs: 30_000,
      what: "the app's two orphans to be stopped",
    });
    // Give the leftovers as long as the app's orphans needed and more: grace, stop, two scans.
    await waitFor(() => Date.now() - leftAtMs >= 1000 + 1000 + 400, { what: 'orphan grace to pass for the leftovers' });
    expect(left.every((ref) => isAlive(ref))).toBe(true);
    const stoppedPids = stopLines(run).flatMap((line) => line.pids as number[]);
    for (const ref of left) expect(stoppedPids).not.toContain(ref.pid);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });
});
