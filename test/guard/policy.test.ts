import { describe, expect, it } from 'vitest';
import { EMPTY_HISTORY, planStops, type GuardHistory, type Plan } from '../../src/guard/policy.js';
import type { ProcInfo } from '../../src/proc/snapshot.js';
import { INIT_PID, MAIN_PID, makeConfig, makeNpmTree, makeProc, makeSnapshot } from '../helpers/snapshots.js';

const pkgA = '@modelcontextprotocol/server-a';
const pkgB = '@modelcontextprotocol/server-b';

/** n trees of one package, launched one after another (older = smaller start ticks). */
function trees(n: number, pkg: string, firstPid: number, options: { cpuTicks?: number } = {}): ProcInfo[] {
  return Array.from({ length: n }, (_, i) => makeNpmTree(firstPid + i * 10, { pkg, ...options })).flat();
}

function stoppedLaunchers(plan: Plan): number[] {
  return plan.stops.map((stop) => stop.instance.launcher.pid);
}

describe('planStops', () => {
  it('stops nothing while every command is within its cap', () => {
    expect(planStops(makeSnapshot(trees(5, pkgA, 100)), makeConfig(), EMPTY_HISTORY).stops).toEqual([]);
  });

  it('stops the oldest instances when a command exceeds its cap', () => {
    const snap = makeSnapshot([...trees(7, pkgA, 100), ...trees(2, pkgB, 500)]);
    const plan = planStops(snap, makeConfig(), EMPTY_HISTORY);
    expect(stoppedLaunchers(plan)).toEqual([100, 110]);
    expect(plan.stops.every((stop) => stop.reason === 'duplicate')).toBe(true);
  });

  it('judges age by start time, not by pid', () => {
    const young = makeNpmTree(100, { pkg: pkgA, startTicks: 9000 });
    const old = makeNpmTree(200, { pkg: pkgA, startTicks: 10 });
    const plan = planStops(makeSnapshot([...young, ...old]), makeConfig({ maxPerCommand: 1 }), EMPTY_HISTORY);
    expect(stoppedLaunchers(plan)).toEqual([200]);
  });

  it('counts npm\'s title and a plain npx argv of one command as duplicates', () => {
    const titled = makeNpmTree(100, { pkg: pkgA });
    const plain = makeProc(200, { ppid: MAIN_PID, startTicks: 200, argv: ['npx', '-y', pkgA] });
    const plan = planStops(makeSnapshot([...titled, plain]), makeConfig({ maxPerCommand: 1 }), EMPTY_HISTORY);
    expect(stoppedLaunchers(plan)).toEqual([100]);
  });

  it('stops an orphan only once it has been one for the orphan grace', () => {
    const first = planStops(makeSnapshot(trees(1, pkgA, 100)), makeConfig(), EMPTY_HISTORY);
    const [, sh, server] = makeNpmTree(100, { pkg: pkgA });
    const orphaned = [{ ...sh!, ppid: INIT_PID }, server!];
    const seen = planStops(makeSnapshot(orphaned, { nowMs: 2_000_000 }), makeConfig(), first.history);
    expect(seen.stops).toEqual([]);
    const early = planStops(makeSnapshot(orphaned, { nowMs: 2_009_999 }), makeConfig(), seen.history);
    expect(early.stops).toEqual([]);
    const late = planStops(makeSnapshot(orphaned, { nowMs: 2_010_000 }), makeConfig(), early.history);
    expect(late.stops.map((s) => [s.instance.id, s.reason])).toEqual([['100:100', 'orphan']]);
  });

  it('applies the total cap to the oldest instances', () => {
    const snap = makeSnapshot([...trees(3, pkgA, 100), ...trees(3, pkgB, 500)]);
    const plan = planStops(snap, makeConfig({ maxInstances: 4 }), EMPTY_HISTORY);
    expect(stoppedLaunchers(plan)).toEqual([100, 110]);
    expect(plan.stops.every((stop) => stop.reason === 'max-instances')).toBe(true);
  });

  it('does not plan again instances whose stop is under way, nor count them', () => {
    const snap = makeSnapshot(trees(7, pkgA, 100));
    const plan = planStops(snap, makeConfig(), EMPTY_HISTORY, new Set(['100:100']));
    expect(stoppedLaunchers(plan)).toEqual([110]);
  });

  describe('pids headroom', () => {
    // Each tree is 23 tasks (launcher 11, sh 1, server 11); the init and main child 19.
    const cgroup = (currentTasks: number, maxTasks = 200) => ({ pids: { currentTasks, maxTasks, dir: '/' } });

    it('stops nothing below the high watermark (pids.max minus the headroom)', () => {
      const snap = makeSnapshot([...trees(3, pkgA, 100)], { cgroup: cgroup(159) });
      expect(planStops(snap, makeConfig(), EMPTY_HISTORY).stops).toEqual([]);
    });

    it('stops orphans, then idle duplicates, then the oldest duplicates, until under the low watermark', () => {
      // 200 max, 20% → high 160, low 140. Usage 180: 41+ tasks must go, two trees.
      const busy = trees(2, pkgA, 100, { cpuTicks: 5 });
      const idle = makeNpmTree(50, { pkg: pkgA });
      const single = makeNpmTree(400, { pkg: pkgB });
      const first = planStops(makeSnapshot([...busy, ...idle, ...single], { nowMs: 0 }), makeConfig(), EMPTY_HISTORY);
      const later = planStops(makeSnapshot([...busy.map((p) => ({ ...p, cpuTicks: p.cpuTicks + 1 })), ...idle, ...single],
        { nowMs: 60_000, cgroup: cgroup(180) }), makeConfig(), first.history);
      expect(later.stops.map((s) => [s.instance.launcher.pid, s.reason, s.idle])).toEqual([
        [50, 'pids-headroom', true],
        [100, 'pids-headroom', false],
      ]);
    });

    it('takes orphans first even within their grace', () => {
      const [, sh, server] = makeNpmTree(100, { pkg: pkgA });
      const orphan = [{ ...sh!, ppid: INIT_PID }, server!];
      const first = planStops(makeSnapshot(makeNpmTree(100, { pkg: pkgA })), makeConfig(), EMPTY_HISTORY);
      const plan = planStops(makeSnapshot([...orphan, ...trees(2, pkgB, 500)], { cgroup: cgroup(165) }), makeConfig(), first.history);
      expect(plan.stops.map((s) => s.instance.id)[0]).toBe('100:100');
    });

    it('never stops the last instance of a command unless --headroom-any', () => {
      const snap = makeSnapshot([...makeNpmTree(100, { pkg: pkgA }), ...makeNpmTree(200, { pkg: pkgB })], { cgroup: cgroup(199) });
      expect(planStops(snap, makeConfig(), EMPTY_HISTORY).stops).toEqual([]);
      expect(stoppedLaunchers(planStops(snap, makeConfig({ headroomAny: true }), EMPTY_HISTORY))).toEqual([100, 200]);
    });

    it('accepts a headroom in tasks', () => {
      const snap = makeSnapshot(trees(2, pkgA, 100), { cgroup: cgroup(171) });
      expect(planStops(snap, makeConfig({ pidsHeadroom: { amount: 30 } }), EMPTY_HISTORY).stops).toHaveLength(1);
      expect(planStops(snap, makeConfig({ pidsHeadroom: { amount: 20 } }), EMPTY_HISTORY).stops).toHaveLength(0);
    });

    it('ignores a cgroup without a pids limit', () => {
      const snap = makeSnapshot(trees(2, pkgA, 100), { cgroup: { pids: { currentTasks: 100000, dir: '/' } } });
      expect(planStops(snap, makeConfig(), EMPTY_HISTORY).stops).toEqual([]);
    });
  });

  describe('memory headroom', () => {
    it('stops duplicates by their RSS until the working set is under the low watermark', () => {
      // 1 GiB limit, 10% → high 921.6 MiB. Each tree holds 3 × 256 pages × 4 KiB = 3 MiB.
      const limitBytes = 1024 ** 3;
      const memory = { usageBytes: limitBytes, workingSetBytes: limitBytes - 100 * 1024 ** 2, limitBytes, dir: '/' };
      const snap = makeSnapshot(trees(3, pkgA, 100), { cgroup: { memory } });
      const plan = planStops(snap, makeConfig(), EMPTY_HISTORY);
      expect(plan.stops.map((s) => [s.instance.launcher.pid, s.reason])).toEqual([[100, 'memory-headroom'], [110, 'memory-headroom']]);
    });
  });
});

describe('planStops on generated snapshots', () => {
  // A small deterministic PRNG so failures can be replayed.
  function random(seed: number) {
    let state = seed;
    return () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  }

  it('never plans the init, the main child, or a process outside an MCP instance (5000 snapshots)', () => {
    let history: GuardHistory = EMPTY_HISTORY;
    for (let seed = 1; seed <= 5000; seed += 1) {
      const rand = random(seed);
      const procs: ProcInfo[] = [];
      const outsiders = new Set<number>();
      let pid = 100;
      const treeCount = Math.floor(rand() * 12);
      for (let t = 0; t < treeCount; t += 1) {
        const parent = rand() < 0.2 ? INIT_PID : MAIN_PID;
        const tree = makeNpmTree(pid, { pkg: rand() < 0.5 ? pkgA : pkgB, parent, startTicks: Math.floor(rand() * 1000), cpuTicks: Math.floor(rand() * 3) });
        procs.push(...tree.filter(() => rand() > 0.1));
        pid += 10;
      }
      for (let o = 0; o < 5; o += 1) {
        const outsider = makeProc(pid, { ppid: rand() < 0.5 ? MAIN_PID : INIT_PID, pgid: MAIN_PID, sid: MAIN_PID, argv: ['node', 'worker.js'] });
        procs.push(outsider);
        outsiders.add(pid);
        pid += 1;
      }
      const cgroup = { pids: { currentTasks: Math.floor(rand() * 400), maxTasks: 300, dir: '/' } };
      const config = makeConfig({ maxPerCommand: 1 + Math.floor(rand() * 4), headroomAny: rand() < 0.5, orphanGraceMs: rand() < 0.5 ? 0 : 10_000 });
      const plan = planStops(makeSnapshot(procs, { cgroup, nowMs: seed * 1000 }), config, rand() < 0.5 ? history : EMPTY_HISTORY);
      history = plan.history;
      for (const stop of plan.stops) {
        for (const member of stop.instance.members) {
          expect(member.pid).not.toBe(INIT_PID);
          expect(member.pid).not.toBe(MAIN_PID);
          expect(outsiders.has(member.pid)).toBe(false);
        }
      }
      expect(new Set(plan.stops.map((s) => s.instance.id)).size).toBe(plan.stops.length);
    }
  });
});
