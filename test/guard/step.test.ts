import { describe, expect, it } from 'vitest';
import { AFTERMATH_MS } from '../../src/guard/key-learning.js';
import type { ProcInfo } from '../../src/proc/snapshot.js';
import { keyOf, pkgA, pkgB, scanUntil, stopped, trees } from '../helpers/scans.js';
import { GuardModel, INIT_PID, MAIN_PID, makeConfig, makeNpmTree, makeProc, pidsAt } from '../helpers/snapshots.js';

describe('stepGuard: learning what a stop is to the app', () => {
  /**
   * Four settled instances of A, and a stop forced at the critical mark, ended by SIGINT: of
   * 110, the oldest of those the pool does not hand on (100 is the oldest, 130 the youngest).
   */
  function stopOne() {
    const model = new GuardModel();
    const procs = trees(4, pkgA, 100);
    scanUntil(model, procs, 20_000, 30_000);
    const plan = model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(185) });
    expect(plan.stops.map((s) => [s.instance.launcher.pid, s.method])).toEqual([[110, 'interrupt']]);
    model.end({ id: plan.stops[0]!.instance.id, endedBy: 'interrupt' }, 31_200);
    return { model, rest: procs.filter((p) => p.pid < 110 || p.pid >= 120) };
  }

  it('learns that the key ends cleanly when the app keeps its other instances, and then stops it at the high mark', () => {
    const { model, rest } = stopOne();
    const during = model.scan(rest, { nowMs: 31_300 });
    expect(during.lessons).toEqual([]);
    const after = model.scan(rest, { nowMs: 31_200 + AFTERMATH_MS });
    expect(after.lessons).toMatchObject([{ key: keyOf(pkgA), closedAll: false, kept: 3, record: { interrupt: 'clean' } }]);
    // From now on a stop of A costs the app nothing: at the high mark, by SIGINT.
    const plan = model.scan(rest, { nowMs: 37_000, cgroup: pidsAt(165) });
    // 165 → 142: 120 goes; 130, the youngest, is the pool's likely idle spare, and 100, the
    // oldest, the instance it shares at its cap.
    expect(stopped(plan)).toEqual([[120, 'pids-headroom']]);
    expect(plan.stops.every((s) => s.method === 'interrupt' && s.evidence.cost === 'clean' && s.evidence.pressure === 'high')).toBe(true);
  });

  it('learns that the stop was a crash to the app when it closes the other instances, and TERMs the key from then on', () => {
    const { model } = stopOne();
    const after = model.scan([], { nowMs: 32_000 });
    expect(after.lessons).toMatchObject([{ key: keyOf(pkgA), closedAll: true, record: { interrupt: 'crash', crashFreesKey: true } }]);
    const again = trees(3, pkgA, 200);
    scanUntil(model, again, 40_000, 50_000);
    const plan = model.scan(again, { nowMs: 51_000, cgroup: pidsAt(185) });
    expect(plan.stops.map((s) => [s.method, s.evidence.cost])).toEqual([['terminate', 'crash']]);
    // At the high mark nothing: every stop of A is a crash.
    expect(model.scan(again, { nowMs: 52_000, cgroup: pidsAt(165) }).stops).toEqual([]);
  });

  it('counts what the app closed after a forced stop as demand, and says once that the limit is too small', () => {
    const model = new GuardModel();
    const notices = [];
    let pid = 100;
    let procs: ProcInfo[] = [];
    // Every 5 s three new trees of A arrive; each forced stop is a crash and the app closes the rest.
    for (let round = 0; round < 6; round += 1) {
      const t0 = 20_000 + round * 10_000;
      procs = [...procs, ...Array.from({ length: 3 }, (_, k) => makeNpmTree(pid + 10 * (k + 1), { pkg: pkgA, startTicks: t0 / 10 - 100 + k })).flat()];
      pid += 30;
      for (let t = t0; t < t0 + 10_000; t += 1000) {
        const plan = model.scan(procs, { nowMs: t, cgroup: pidsAt(Math.min(230, 120 + procs.length * 3), 200) });
        notices.push(...plan.demandNotices);
        for (const stop of plan.stops) model.end({ id: stop.instance.id, endedBy: stop.method }, t + 100);
        if (plan.stops.length > 0) procs = [];
      }
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ limit: 'pids', limitAmount: 200 });
    expect(notices[0]!.needed).toBeGreaterThan(250);
  });
});

describe("stepGuard: the app's children seen between scans", () => {
  it('adopts the servers a launcher left in its session when the launcher lived less than a scan', () => {
    const model = new GuardModel(makeConfig({ orphanGraceMs: 0 }));
    // Launcher 300 (seen by a poll as the main child's child) died before any scan: its sh and server were reparented to the init.
    const launcher = makeProc(300, { ppid: MAIN_PID, pgid: MAIN_PID, sid: MAIN_PID, comm: 'node', argv: ['npx', '-y', pkgA] });
    const [, sh, server] = makeNpmTree(300, { pkg: pkgA });
    const leftovers = [{ ...sh!, ppid: INIT_PID }, server!];
    const plan = model.scan(leftovers, { nowMs: 20_000, seenChildren: [launcher] });
    expect(plan.stops.map((s) => [s.reason, s.instance.members.map((m) => m.pid)])).toEqual([['orphan', [301, 302]]]);
  });

  it('leaves the same processes alone when nothing of the app led their session: a docker exec leftover', () => {
    const model = new GuardModel(makeConfig({ orphanGraceMs: 0 }));
    const [, sh, server] = makeNpmTree(300, { pkg: pkgA });
    expect(model.scan([{ ...sh!, ppid: INIT_PID }, server!], { nowMs: 20_000 }).instances).toEqual([]);
  });

  it('does not adopt a session whose id a later process took: the id was free and is not ours', () => {
    const model = new GuardModel(makeConfig({ orphanGraceMs: 0 }));
    const launcher = makeProc(300, { ppid: MAIN_PID, pgid: MAIN_PID, sid: MAIN_PID, startTicks: 300 });
    const stranger = makeProc(300, { ppid: INIT_PID, startTicks: 900, argv: ['bash'] });
    const [, sh, server] = makeNpmTree(300, { pkg: pkgA });
    const plan = model.scan([stranger, { ...sh!, ppid: INIT_PID }, server!], { nowMs: 20_000, seenChildren: [launcher] });
    expect(plan.instances).toEqual([]);
  });
});

describe('stepGuard: respawn loops', () => {
  it('does not call a storm of new sessions a loop: the app starts the key whether it is stopped or not', () => {
    const model = new GuardModel(makeConfig({ appToleratesCrashes: true, maxPerCommand: 1, idleAfterMs: 0 }));
    let pid = 1000;
    let live: ProcInfo[] = [];
    const loops = [];
    for (let t = 20_000; t <= 50_000; t += 250) {
      pid += 10;
      live.push(...makeNpmTree(pid, { pkg: pkgA, startTicks: t / 10 - 300 }));
      const plan = model.scan(live, { nowMs: t, cgroup: pidsAt(190) });
      loops.push(...plan.loops);
      const gone = new Set(plan.stops.flatMap((s) => s.instance.members.map((m) => m.pid)));
      live = live.filter((p) => !gone.has(p.pid));
    }
    expect(loops).toEqual([]);
  });

  it('calls it a loop when the app starts one again each time the guard stops one, and backs off the trims', () => {
    const model = new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 5000, appToleratesCrashes: true }));
    const loops = [];
    const stopTimes: number[] = [];
    // The app keeps three instances of A: each one the guard stops is replaced. (Two would not
    // do: the oldest and the youngest are those the pool hands on, which a clean stop spares.)
    let live = [...makeNpmTree(100, { pkg: pkgA }), ...makeNpmTree(110, { pkg: pkgA }), ...makeNpmTree(120, { pkg: pkgA })];
    let pid = 120;
    let loopAtMs = Infinity;
    for (let t = 20_000; t <= 200_000; t += 1000) {
      const plan = model.scan(live, { nowMs: t });
      if (plan.loops.length > 0) loopAtMs = t;
      loops.push(...plan.loops);
      for (const _ of plan.stops) stopTimes.push(t);
      for (const stop of plan.stops) {
        live = live.filter((p) => !stop.instance.members.some((m) => m.pid === p.pid));
        pid += 10;
        live.push(...makeNpmTree(pid, { pkg: pkgA, startTicks: t / 10 - 1000 }));
      }
    }
    expect(loops).toHaveLength(1);
    expect(loops[0]).toMatchObject({ key: keyOf(pkgA), respawnsInWindow: 3, backoffMs: 300_000 });
    // The first replacement followed the app's own starts: demand; the next three were respawns.
    expect(stopTimes.length).toBeGreaterThanOrEqual(4);
    // No more trims of A once it is backed off.
    expect(stopTimes.filter((t) => t > loopAtMs)).toEqual([]);
  });
});

describe('stepGuard on generated process tables', () => {
  // A small deterministic PRNG so that a failure can be replayed from its seed.
  function random(seed: number) {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
  }

  it('never plans the init, the main child, anything outside the app or a protected group; no crash or starting tree short of need; no busy stop short of critical: 3000 runs', () => {
    const violations: string[] = [];
    for (let seed = 1; seed <= 3000; seed += 1) {
      const rand = random(seed);
      const tolerant = rand() < 0.3;
      const model = new GuardModel(
        makeConfig({
          maxPerCommand: 1 + Math.floor(rand() * 3),
          idleAfterMs: rand() < 0.5 ? 0 : 5000,
          orphanGraceMs: rand() < 0.5 ? 0 : 3000,
          appToleratesCrashes: tolerant,
        }),
      );
      const outsiders = new Set<number>();
      let procs: ProcInfo[] = [];
      let pid = 100;
      for (let t = 0; t < 1 + Math.floor(rand() * 8); t += 1) {
        const tree = makeNpmTree(pid, { pkg: rand() < 0.5 ? pkgA : pkgB, startTicks: Math.floor(rand() * 3000) });
        procs.push(...tree.filter(() => rand() > 0.1));
        pid += 10;
      }
      for (let o = 0; o < 4; o += 1) {
        // docker exec leftovers, and processes in the main child's group and session.
        const inMain = rand() < 0.5;
        procs.push(makeNpmTree(pid, { parent: inMain ? MAIN_PID : INIT_PID })[0]!);
        if (!inMain) outsiders.add(pid);
        else procs[procs.length - 1] = { ...procs[procs.length - 1]!, pgid: MAIN_PID, sid: MAIN_PID };
        pid += 1;
      }
      for (let step = 0; step < 6; step += 1) {
        const nowMs = 30_000 + step * 1000 * (1 + Math.floor(rand() * 5));
        // Some processes die (launchers leaving orphans), some use CPU.
        procs = procs
          .filter(() => rand() > 0.05)
          .map((p) => {
            const reparented = !procs.some((q) => q.pid === p.ppid) && p.ppid !== MAIN_PID ? { ...p, ppid: INIT_PID } : p;
            return rand() < 0.3 ? { ...reparented, cpuTicks: reparented.cpuTicks + 1 } : reparented;
          });
        const cgroup = pidsAt(Math.floor(rand() * 260), 200);
        const plan = model.scan(procs, { nowMs, cgroup, growthPerSecond: { tasks: Math.floor(rand() * 60), bytes: 0 } });
        const crashesOfKey = new Map<string, number>();
        for (const stop of plan.stops) {
          const where = `seed ${seed} step ${step} ${stop.instance.id} ${stop.reason}`;
          for (const member of stop.instance.members) {
            if (member.pid === INIT_PID || member.pid === MAIN_PID) violations.push(`${where}: the init or the main child`);
            if (outsiders.has(member.pid)) violations.push(`${where}: a process outside the app (${member.pid})`);
          }
          if (stop.instance.pgid !== undefined && [0, 1, MAIN_PID].includes(stop.instance.pgid))
            violations.push(`${where}: protected group ${stop.instance.pgid}`);
          const { busy, starting, pressure, cost, projected } = stop.evidence;
          const held = stop.reason !== 'orphan' && !stop.instance.orphaned;
          if (held && pressure !== 'critical' && busy) violations.push(`${where}: busy short of critical`);
          // Short of critical, a starting tree goes only while the rest, grown, would reach the
          // limit itself; for an app that tolerates crashes, its critical mark (180).
          const need = tolerant ? pressure !== undefined && (projected ?? 0) >= 180 : pressure === 'urgent' && (projected ?? 0) >= 200;
          if (held && pressure !== 'critical' && starting && !need) violations.push(`${where}: starting short of need`);
          if (held && cost === 'crash' && !tolerant && (pressure === undefined || pressure === 'high')) violations.push(`${where}: a crash nothing forced`);
          if (!held || cost !== 'crash') continue;
          // A second crash of one key in one scan only while the rest, grown, would reach the limit itself.
          const before = crashesOfKey.get(stop.instance.key) ?? 0;
          if (before > 0 && !tolerant && (projected ?? 0) < 200) violations.push(`${where}: a second crash stop of its key short of the limit`);
          crashesOfKey.set(stop.instance.key, before + 1);
        }
        if (new Set(plan.stops.map((s) => s.instance.id)).size !== plan.stops.length) violations.push(`seed ${seed} step ${step}: one instance planned twice`);
      }
    }
    expect(violations.slice(0, 10)).toEqual([]);
  });
});
