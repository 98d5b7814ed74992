import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { lateMembers, stopInstance } from '../../src/guard/loop/stop-instance.js';
import { readAllStats, readUptimeSeconds } from '../../src/proc/read-proc.js';
import { signalProc } from '../../src/proc/signal-proc.js';
import type { ProcStat } from '../../src/proc/snapshot.js';
import { isAlive, killTree, refOfSpawned, TEST_ACCESS } from '../helpers/procs.js';
import { spawnWithPid } from '../helpers/reuse-pid.js';
import { makeInstance } from '../helpers/snapshots.js';
import { rootTestsEnabled } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

// The groups this file started (each a session of its own): whatever is left in them goes.
const groups: number[] = [];
const inGroup = (pgid: number): ProcStat[] => [...readAllStats().values()].filter((p) => p.pgid === pgid && p.state !== 'Z');
afterEach(() => {
  for (const pgid of groups.splice(0)) for (const proc of inGroup(pgid)) signalProc(proc, 'SIGKILL', TEST_ACCESS);
});

describe('stopInstance', () => {
  it('leaves a tree its SIGINT did not end to run when no TERM may follow, and stops it by TERM when one may', async () => {
    // A server that ignores SIGINT: with no crash to spend, a TERM after it would be a crash.
    const start = async () => {
      const server = spawn('node', ['-e', 'process.on("SIGINT", () => {}); console.log("ready"); setInterval(() => {}, 1000)'], {
        detached: true,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const ref = refOfSpawned(server)!;
      groups.push(ref.pid);
      await new Promise((resolve) => server.stdout!.once('data', resolve));
      const stat = await waitFor(() => readAllStats().get(ref.pid), { what: 'the server' });
      return { ref, instance: makeInstance([{ ...stat, argv: ['node'] }], { pgid: ref.pid }) };
    };
    const left = await start();
    const survived = await stopInstance(left.instance, { method: 'interrupt', terminateIfIgnored: false, graceMs: 1000, pollMs: 20, access: TEST_ACCESS });
    expect(survived).toMatchObject({ interrupted: 1, termed: 0, killed: 0, left: 1, endedBy: 'survived' });
    expect(isAlive(left.ref)).toBe(true);
    const termed = await start();
    const ended = await stopInstance(termed.instance, { method: 'interrupt', terminateIfIgnored: true, graceMs: 1000, pollMs: 20, access: TEST_ACCESS });
    expect(ended).toMatchObject({ interrupted: 1, left: 0, endedBy: 'terminate' });
  });

  it('calls a stop of a tree that had ended before any signal gone, by each method, and sends nothing', async () => {
    // As when the app closed the tree after another stop of its key was a crash to it.
    for (const method of ['close-stdin', 'interrupt', 'terminate'] as const) {
      const child = spawn('node', ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
      const ref = refOfSpawned(child)!;
      groups.push(ref.pid);
      await new Promise((resolve) => child.stdout!.once('data', resolve));
      const stat = await waitFor(() => readAllStats().get(ref.pid), { what: 'the launcher' });
      const instance = makeInstance([{ ...stat, argv: ['node'] }], { pgid: ref.pid });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      signalProc(ref, 'SIGKILL', TEST_ACCESS);
      await exited;
      const result = await stopInstance(instance, { method, graceMs: 1000, pollMs: 20, access: TEST_ACCESS });
      expect(result, method).toMatchObject({ interrupted: 0, termed: 0, killed: 0, failed: 0, left: 0, endedBy: 'gone' });
    }
  });

  it('also stops what the launcher started after the TERM: a member the scan never saw', async () => {
    // A launcher that, told to stop, starts one more process in its group and exits, as
    // `npm exec` does when the TERM comes while it spawns its server.
    const launcher = spawn('sh', ['-c', 'trap "sleep 1000 & exit 0" TERM; echo ready; while :; do sleep 0.05; done'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const ref = refOfSpawned(launcher)!;
    groups.push(ref.pid);
    // A TERM before the trap is set would end the shell with no late member.
    await new Promise((resolve) => launcher.stdout!.once('data', resolve));
    const stat = await waitFor(() => readAllStats().get(ref.pid), { what: 'the launcher' });
    const instance = makeInstance([{ ...stat, argv: ['sh'] }], { pgid: ref.pid });

    const result = await stopInstance(instance, { method: 'terminate', graceMs: 2000, pollMs: 20, access: TEST_ACCESS });
    expect(inGroup(ref.pid)).toEqual([]);
    // The scan's member and the late sleep both got TERM.
    expect(result.termed).toBeGreaterThanOrEqual(2);
    expect(result.left).toBe(0);
  });

  it("stops the late member's own children too, though they started after the launcher had gone", async () => {
    // npm exec -> sh -> the server: the launcher starts sh at the TERM and exits; sh starts
    // its child once the launcher is gone.
    const launcher = spawn('sh', ['-c', 'trap "sh -c \'sleep 0.7; sleep 1000\' & exit 0" TERM; while :; do sleep 0.05; done'], {
      detached: true,
      stdio: 'ignore',
    });
    const ref = refOfSpawned(launcher)!;
    groups.push(ref.pid);
    const stat = await waitFor(() => readAllStats().get(ref.pid), { what: 'the launcher' });
    const instance = makeInstance([{ ...stat, argv: ['sh'] }], { pgid: ref.pid });
    const result = await stopInstance(instance, { method: 'terminate', graceMs: 2000, pollMs: 20, access: TEST_ACCESS });
    expect(result.left).toBe(0);
    // Past the 0.7 s at which the inner sh would have started the long sleep.
    const until = Date.now() + 1500;
    await waitFor(() => Date.now() > until, { timeoutMs: 5000, what: '1.5 s to pass' });
    expect(inGroup(ref.pid)).toEqual([]);
  });

  // The review's path: the instance's last member exits, and 19 ms later a new process takes
  // its pid and calls setsid, so it leads a group of the same id (forced here with ns_last_pid).
  describe.runIf(rootTestsEnabled())('when the group emptied and its id was taken', () => {
    const launchInstance = async () => {
      const launcher = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
      const ref = refOfSpawned(launcher)!;
      const stat = await waitFor(() => readAllStats().get(ref.pid), { what: 'the launcher' });
      const instance = makeInstance([{ ...stat, argv: ['sleep'] }], { pgid: ref.pid });
      const lastSeenTicks = Math.ceil(readUptimeSeconds()! * 100);
      launcher.kill('SIGKILL');
      await waitFor(() => launcher.exitCode !== null || launcher.signalCode !== null, { what: 'the launcher to be reaped' });
      return { instance, pid: ref.pid, lastSeenTicks };
    };

    it('leaves alone a process that took the id and leads its group now', async () => {
      const { instance, pid } = await launchInstance();
      const stranger = spawnWithPid(pid, ['setsid', 'sleep', '1000']);
      if (!stranger) throw new Error(`no process could be given pid ${pid}`);
      const strangerRef = refOfSpawned(stranger)!;
      try {
        await waitFor(() => readAllStats().get(pid)?.pgid === pid, { what: 'the stranger to lead its group' });
        expect(lateMembers(instance, Number.POSITIVE_INFINITY, '/proc')).toEqual([]);
        const result = await stopInstance(instance, { method: 'terminate', graceMs: 500, pollMs: 20, access: TEST_ACCESS });
        expect(result.termed).toBe(0);
        expect(isAlive(strangerRef)).toBe(true);
      } finally {
        killTree(strangerRef);
      }
    });

    it("leaves alone the child of such a process that has exited: it started after the group's last member was seen", async () => {
      const { instance, pid, lastSeenTicks } = await launchInstance();
      // Well after the last sighting and its margin of a poll (6 ticks): 200 ms.
      await waitFor(() => readUptimeSeconds()! * 100 > lastSeenTicks + 20, { what: '200 ms to pass' });
      const stranger = spawnWithPid(pid, ['setsid', 'sh', '-c', 'sleep 1000 & echo $!']);
      if (!stranger) throw new Error(`no process could be given pid ${pid}`);
      let out = '';
      stranger.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const childPid = Number(await waitFor(() => /^(\d+)\n/.exec(out)?.[1], { what: "the stranger's child" }));
      const child = await waitFor(() => readAllStats().get(childPid), { what: "the stranger's child to show" });
      try {
        await waitFor(() => readAllStats().get(pid) === undefined, { what: 'the stranger to exit' });
        expect(child.pgid).toBe(pid);
        expect(lateMembers(instance, lastSeenTicks + 6, '/proc')).toEqual([]);
      } finally {
        killTree({ pid: child.pid, startTicks: child.startTicks });
      }
    });
  });
});
