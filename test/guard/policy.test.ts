import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/guard/policy.js';
import type { ProcInfo } from '../../src/proc/snapshot.js';
import { GuardModel, INIT_PID, makeConfig, makeNpmTree, pidsAt } from '../helpers/snapshots.js';

const pkgA = '@modelcontextprotocol/server-a';
const pkgB = '@modelcontextprotocol/server-b';

/** n trees of one package, launched one after another (older = smaller start ticks), at t ≈ 1-2 s. */
function trees(n: number, pkg: string, firstPid: number, options: { cpuTicks?: number } = {}): ProcInfo[] {
  return Array.from({ length: n }, (_, i) => makeNpmTree(firstPid + i * 10, { pkg, ...options })).flat();
}

/** The same processes having used more CPU: a request went through them. */
function used(procs: readonly ProcInfo[], ticks = 1): ProcInfo[] {
  return procs.map((proc) => ({ ...proc, cpuTicks: proc.cpuTicks + ticks }));
}

function stopped(plan: Plan): [number, string][] {
  return plan.stops.map((stop) => [stop.instance.launcher.pid, stop.reason]);
}

/**
 * Scans every second from `fromMs` to `toMs`, as if each planned stop took effect at once
 * (its processes are gone from the next scan); returns every stop in order.
 */
function runScans(model: GuardModel, procs: readonly ProcInfo[], fromMs: number, toMs: number): { stops: [number, string][]; loops: Plan['loops'] } {
  const gone = new Set<number>();
  const stops: [number, string][] = [];
  const loops: Plan['loops'] = [];
  for (let t = fromMs; t <= toMs; t += 1000) {
    const plan = model.scan(
      procs.filter((p) => !gone.has(p.pid)),
      { nowMs: t },
    );
    for (const stop of plan.stops) for (const member of stop.instance.members) gone.add(member.pid);
    stops.push(...stopped(plan));
    loops.push(...plan.loops);
  }
  return { stops, loops };
}

/** Scans the same processes every second from `fromMs` to `toMs`; returns the last plan. */
function scanUntil(
  model: GuardModel,
  procs: readonly ProcInfo[],
  fromMs: number,
  toMs: number,
  input: Omit<Parameters<GuardModel['scan']>[1], 'nowMs'> = {},
): Plan {
  let plan = model.scan(procs, { ...input, nowMs: fromMs });
  for (let t = fromMs + 1000; t <= toMs; t += 1000) plan = model.scan(procs, { ...input, nowMs: t });
  return plan;
}

describe('planStops: the duplicate rule', () => {
  const config = makeConfig({ maxPerCommand: 2, idleAfterMs: 30_000 });

  it('stops nothing while every command is within its cap', () => {
    expect(scanUntil(new GuardModel(config), trees(2, pkgA, 100), 20_000, 200_000).stops).toEqual([]);
  });

  /** Four instances of pkgA (cap 2) and one of pkgB, scanned to 50 s; 110 was used at 40 s, the others never. */
  function overTheCap() {
    const model = new GuardModel(config);
    const all = [...trees(4, pkgA, 100), ...trees(1, pkgB, 500)];
    scanUntil(model, all, 20_000, 39_000);
    const usedAt40 = all.map((p) => (p.pid >= 110 && p.pid < 120 ? { ...p, cpuTicks: 1 } : p));
    const before = scanUntil(model, usedAt40, 40_000, 49_000);
    return { model, procs: usedAt40, before, plan: model.scan(usedAt40, { nowMs: 50_000 }) };
  }

  it('stops an idle, settled instance beyond the cap, the longest idle first', () => {
    const { before, plan } = overTheCap();
    expect(before.stops).toEqual([]);
    // 100 is the longest idle (ties go to the oldest).
    expect(stopped(plan)).toEqual([[100, 'duplicate']]);
    expect(plan.stops[0]!.evidence).toMatchObject({ idle: true, starting: false, busy: false, instancesOfKey: 4, busyOfKey: 0, startingOfKey: 0 });
  });

  it('touches no other instance of a key while the stop of one is under way', () => {
    const { model, procs, plan } = overTheCap();
    const next = model.scan(procs, { nowMs: 51_000, inFlight: new Map([['100:100', { key: plan.stops[0]!.instance.key }]]) });
    expect(next.stops).toEqual([]);
  });

  it('never stops an instance that is still starting, however many there are', () => {
    // Launched at 20 s (tick 2000+): younger than the 10 s start grace at 25 s, and its tree still grows.
    const young = Array.from({ length: 6 }, (_, i) => makeNpmTree(100 + i * 10, { pkg: pkgA, startTicks: 2000 + i })).flat();
    const model = new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 0 }));
    expect(scanUntil(model, young, 20_000, 29_000).stops).toEqual([]);
  });

  it('counts a live launcher with no child as starting, however old', () => {
    const model = new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 5000 }));
    const loneLaunchers = [100, 110].map((pid) => makeNpmTree(pid, { pkg: pkgA })[0]!);
    const plan = scanUntil(model, loneLaunchers, 20_000, 60_000);
    expect(plan.stops).toEqual([]);
    expect([...plan.states.values()].every((state) => state.starting)).toBe(true);
  });

  it('never stops a busy instance for being a duplicate, and leaves its key alone while one is busy', () => {
    const model = new GuardModel(config);
    let procs = trees(4, pkgA, 100);
    scanUntil(model, procs, 20_000, 60_000);
    // Instance 130 serves a request every second from 60 s on; the other three are long idle.
    for (let t = 61_000; t <= 120_000; t += 1000) {
      procs = procs.map((p) => (p.pid >= 130 ? { ...p, cpuTicks: p.cpuTicks + 1 } : p));
      expect(model.scan(procs, { nowMs: t }).stops).toEqual([]);
    }
  });

  it('counts I/O as use, not only CPU', () => {
    const model = new GuardModel(config);
    const procs = trees(3, pkgA, 100);
    scanUntil(model, procs, 20_000, 40_000);
    // 120's server reads a request from its stdin every second (no CPU tick yet): it is busy.
    for (let t = 41_000; t <= 90_000; t += 1000) expect(model.scan(procs, { nowMs: t, io: new Map([[122, t]]) }).stops).toEqual([]);
  });

  it("counts npm's title and a plain npx argv of one command as duplicates", () => {
    const titled = makeNpmTree(100, { pkg: pkgA });
    const plain = makeNpmTree(200, { pkg: pkgA }).map((p, i) => (i === 0 ? { ...p, argv: ['npx', '-y', pkgA] } : p));
    expect(runScans(new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 30_000 })), [...titled, ...plain], 20_000, 60_000).stops).toEqual([
      [100, 'duplicate'],
    ]);
  });

  it('applies the total cap to idle instances of quiet keys', () => {
    const model = new GuardModel(makeConfig({ maxInstances: 2, idleAfterMs: 30_000 }));
    const procs = [...trees(2, pkgA, 100), ...trees(2, pkgB, 500)];
    expect(runScans(model, procs, 20_000, 60_000).stops).toEqual([
      [100, 'max-instances'],
      [500, 'max-instances'],
    ]);
  });
});

describe('planStops: orphans', () => {
  it('stops an orphan only once it has been one for the orphan grace, busy or not', () => {
    const model = new GuardModel();
    model.scan(makeNpmTree(100, { pkg: pkgA }), { nowMs: 20_000 });
    const [, sh, server] = makeNpmTree(100, { pkg: pkgA });
    let orphaned = [{ ...sh!, ppid: INIT_PID }, server!];
    expect(model.scan(orphaned, { nowMs: 21_000 }).stops).toEqual([]);
    orphaned = used(orphaned);
    expect(model.scan(orphaned, { nowMs: 30_999 }).stops).toEqual([]);
    const late = model.scan(orphaned, { nowMs: 31_000 });
    expect(late.stops.map((s) => [s.instance.id, s.reason])).toEqual([['100:100', 'orphan']]);
  });
});

describe('planStops: headroom', () => {
  // 200 max, 20% → high 160, critical 180, low 140. Each tree is 23 tasks.

  it('stops nothing below the high watermark', () => {
    expect(scanUntil(new GuardModel(), trees(3, pkgA, 100), 20_000, 30_000, { cgroup: pidsAt(159) }).stops).toEqual([]);
  });

  it('near the limit, stops the longest idle instances of quiet keys until under the low watermark', () => {
    const model = new GuardModel();
    const procs = [...trees(2, pkgA, 100), ...trees(2, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    // B's instances were used at 31 s; A's were not: A goes first, one per key per scan.
    const plan = scanUntil(model, used(procs.filter((p) => p.pid >= 500)).concat(procs.filter((p) => p.pid < 500)), 31_000, 40_000, { cgroup: pidsAt(170) });
    expect(stopped(plan)).toEqual([
      [100, 'pids-headroom'],
      [500, 'pids-headroom'],
    ]);
    expect(plan.stops.every((s) => s.evidence.pressure === 'high' && !s.evidence.busy && !s.evidence.starting)).toBe(true);
  });

  it('short of critical, waits while every key has a busy instance', () => {
    const model = new GuardModel();
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    // 120 serves a request: A is not quiet, and A is the only key.
    const plan = model.scan(
      settled.map((p) => (p.pid >= 120 ? { ...p, cpuTicks: 3 } : p)),
      { nowMs: 31_000, cgroup: pidsAt(175) },
    );
    expect(plan.stops).toEqual([]);
  });

  it('under pressure, a sibling that is still starting does not hold back the stop of an idle one', () => {
    const model = new GuardModel();
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    // Launched at 27.5 s, seen since 28 s: it is starting, and no session is just starting with it.
    const starting = makeNpmTree(300, { pkg: pkgA, startTicks: 2750 });
    scanUntil(model, [...settled, ...starting], 28_000, 30_000);
    const plan = model.scan([...settled, ...starting], { nowMs: 31_000, cgroup: pidsAt(165) });
    expect(stopped(plan)).toEqual([[100, 'pids-headroom']]);
    expect(plan.stops[0]!.evidence).toMatchObject({ pressure: 'high', startingOfKey: 1, busyOfKey: 0 });
  });

  it('not under pressure, trims a key only while nothing of it is starting', () => {
    const model = new GuardModel(makeConfig({ maxPerCommand: 2, idleAfterMs: 5000 }));
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 24_000);
    const starting = makeNpmTree(300, { pkg: pkgA, startTicks: 2950 });
    expect(scanUntil(model, [...settled, ...starting], 25_000, 30_000).stops).toEqual([]);
  });

  it('at the critical mark, stops busy instances too, longest idle first, one per key, and spares a starting one that fits', () => {
    const pkgC = '@modelcontextprotocol/server-c';
    const model = new GuardModel();
    const settled = [...trees(2, pkgA, 100), ...trees(1, pkgB, 500)];
    scanUntil(model, settled, 20_000, 28_000);
    const starting = makeNpmTree(700, { pkg: pkgC, startTicks: 2850 });
    scanUntil(model, [...settled, ...starting], 29_000, 30_000);
    // B serves a request at 31 s.
    const busyB = settled.map((p) => (p.pid >= 500 ? { ...p, cpuTicks: 5 } : p));
    const plan = model.scan([...busyB, ...starting], { nowMs: 31_000, cgroup: pidsAt(199) });
    // 199 - 140 = 59 tasks should go: A's idle one, then B's busy one (A's second one waits
    // for the first to be gone); C is starting and, grown, stays under the critical mark.
    expect(stopped(plan)).toEqual([
      [100, 'pids-headroom'],
      [500, 'pids-headroom'],
    ]);
    expect(plan.stops.map((s) => [s.evidence.busy, s.evidence.starting])).toEqual([
      [false, false],
      [true, false],
    ]);
    expect(plan.stops.every((s) => s.evidence.pressure === 'critical')).toBe(true);
  });

  it('stops more than one instance of a key at once only when the limit itself would be reached otherwise', () => {
    const model = new GuardModel();
    const settled = trees(4, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    expect(stopped(model.scan(settled, { nowMs: 31_000, cgroup: pidsAt(185) }))).toEqual([[100, 'pids-headroom']]);
    const model2 = new GuardModel();
    scanUntil(model2, settled, 20_000, 30_000);
    // Over the limit (a cgroup whose pids.max was lowered): 224 → 201 is still at the limit, → 178 is not.
    expect(stopped(model2.scan(settled, { nowMs: 31_000, cgroup: pidsAt(224) }))).toEqual([
      [100, 'pids-headroom'],
      [110, 'pids-headroom'],
    ]);
  });

  it('when the trees already there will reach the limit once grown, stops an idle one first', () => {
    const model = new GuardModel();
    // Two full trees of A teach the guard that one grows to 23 tasks.
    const settled = trees(2, pkgA, 100);
    scanUntil(model, settled, 20_000, 27_000);
    // Four launchers of A that have not started their servers yet (11 tasks each, 12 more to come).
    const launchers = [300, 310, 320, 330].map((pid) => makeNpmTree(pid, { pkg: pkgA, startTicks: 2750 + pid })[0]!);
    scanUntil(model, [...settled, ...launchers], 28_000, 30_000);
    // 165 is short of the critical mark (180), but 165 + 4 × 12 = 213 ≥ 200.
    // 165 + 48 = 213: 100 goes; A is then being stopped, so nothing else of A in this scan.
    const plan = model.scan([...settled, ...launchers], { nowMs: 31_000, cgroup: pidsAt(165) });
    expect(stopped(plan)).toEqual([[100, 'pids-headroom']]);
    expect(plan.stops[0]!.evidence).toMatchObject({ pressure: 'urgent', starting: false });
  });

  /** A guard that saw one full tree of A, then only four launchers of A that have not started their servers. */
  function onlyStarting() {
    const model = new GuardModel();
    scanUntil(model, trees(1, pkgA, 100), 20_000, 21_000);
    const launchers = [300, 310, 320, 330].map((pid) => makeNpmTree(pid, { pkg: pkgA, startTicks: 2750 + pid })[0]!);
    scanUntil(model, launchers, 28_000, 30_000);
    return { model, launchers };
  }

  it('when only starting trees are left and they will reach the limit, stops the youngest, one per key at a time', () => {
    const { model, launchers } = onlyStarting();
    // 165 + 4 × 12 = 213 ≥ 200: the youngest, 330, goes.
    const plan = model.scan(launchers, { nowMs: 31_000, cgroup: pidsAt(165) });
    expect(stopped(plan)).toEqual([[330, 'pids-headroom']]);
    expect(plan.stops[0]!.evidence).toMatchObject({ pressure: 'urgent', starting: true });
  });

  it('at the critical mark, stops the youngest starting trees while, grown, the rest would reach the limit itself', () => {
    const { model, launchers } = onlyStarting();
    // The limit comes first: the youngest go while, grown, the rest would reach the limit itself
    // (233, 210), then one per key at a time.
    expect(stopped(model.scan(launchers, { nowMs: 31_000, cgroup: pidsAt(185) }))).toEqual([
      [330, 'pids-headroom'],
      [320, 'pids-headroom'],
    ]);
  });

  it('waits while a session has just started on the key: a new instance means someone asked for it', () => {
    const model = new GuardModel();
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    const fresh = makeNpmTree(300, { pkg: pkgA, startTicks: 3090 })[0]!;
    expect(model.scan([...settled, fresh], { nowMs: 31_000, cgroup: pidsAt(170) }).stops).toEqual([]);
    expect(model.scan([...settled, fresh], { nowMs: 31_900, cgroup: pidsAt(170) }).stops).toEqual([]);
    expect(stopped(model.scan([...settled, fresh], { nowMs: 32_000, cgroup: pidsAt(170) }))).toEqual([[100, 'pids-headroom']]);
  });

  it('takes orphans first, even within their grace', () => {
    const model = new GuardModel();
    model.scan([...makeNpmTree(100, { pkg: pkgA }), ...trees(2, pkgB, 500)], { nowMs: 20_000 });
    const [, sh, server] = makeNpmTree(100, { pkg: pkgA });
    const plan = model.scan([{ ...sh!, ppid: INIT_PID }, server!, ...trees(2, pkgB, 500)], { nowMs: 21_000, cgroup: pidsAt(165) });
    expect(plan.stops[0]!.instance.id).toBe('100:100');
  });

  it('does not count again what is already being stopped', () => {
    const model = new GuardModel();
    const procs = trees(3, pkgA, 100);
    scanUntil(model, procs, 20_000, 30_000);
    // 165 - 23 (100's stop under way) = 142 ≥ 140: one more, and 130 is not quiet... all of A is the one key in flight.
    const plan = model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(165), inFlight: new Map([['100:100', { key: `npm exec ${pkgA}` }]]) });
    expect(plan.stops).toEqual([]);
  });

  it('accepts a headroom in tasks, and ignores a cgroup without a limit', () => {
    const procs = trees(2, pkgA, 100);
    expect(
      scanUntil(new GuardModel(makeConfig({ pidsHeadroom: { amount: 30 } })), procs, 20_000, 30_000, { cgroup: pidsAt(171) }).history.stopsByKey.size,
    ).toBe(1);
    expect(
      scanUntil(new GuardModel(makeConfig({ pidsHeadroom: { amount: 20 } })), procs, 20_000, 30_000, { cgroup: pidsAt(171) }).history.stopsByKey.size,
    ).toBe(0);
    expect(scanUntil(new GuardModel(), procs, 20_000, 30_000, { cgroup: { pids: { currentTasks: 100_000, dir: '/' } } }).history.stopsByKey.size).toBe(0);
  });

  it('weighs memory by RSS against the working set', () => {
    // 1 GiB limit, 10% → high 921.6 MiB. Each tree holds 3 × 256 pages × 4 KiB = 3 MiB.
    const limitBytes = 1024 ** 3;
    const memory = { usageBytes: limitBytes, workingSetBytes: limitBytes - 50 * 1024 ** 2, limitBytes, dir: '/' };
    const model = new GuardModel();
    const procs = [...trees(1, pkgA, 100), ...trees(1, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    const plan = model.scan(procs, { nowMs: 31_000, cgroup: { memory } });
    expect(stopped(plan)).toEqual([
      [100, 'memory-headroom'],
      [500, 'memory-headroom'],
    ]);
  });

  /**
   * A guard that saw one tree of A grow to about 151 MiB and 23 tasks, and now `n` launchers
   * of A that sessions asked for this very second: A is in use, not quiet.
   */
  function startingWhileInUse(n: number) {
    const model = new GuardModel(makeConfig({ memoryHeadroom: { percent: 25 } }));
    const grown = makeNpmTree(100, { pkg: pkgA }).map((p) => (p.comm === 'node' ? { ...p, rssPages: 150 * 256 } : p));
    scanUntil(model, grown, 20_000, 29_000);
    const launchers = Array.from({ length: n }, (_, k) => makeNpmTree(300 + k * 10, { pkg: pkgA, startTicks: 2980 + k })[0]!);
    return { model, procs: [...grown, ...launchers] };
  }
  // 1 GiB, 25%: high 768 MiB, critical 896 MiB. Each launcher will grow by 150.5 MiB.
  const memoryAt = (mib: number) => ({ memory: { usageBytes: mib * 1024 ** 2, workingSetBytes: mib * 1024 ** 2, limitBytes: 1024 ** 3, dir: '/' } });

  it('for memory, once the starting trees, grown, would pass the critical mark, stops them even while their key is in use', () => {
    // 780 + 150.5 = 930.5: short of the limit, past the critical mark.
    const { model, procs } = startingWhileInUse(1);
    const plan = model.scan(procs, { nowMs: 30_000, cgroup: memoryAt(780) });
    expect(stopped(plan)).toEqual([[300, 'memory-headroom']]);
    expect(plan.stops[0]!.evidence).toMatchObject({ pressure: 'urgent', starting: true });
  });

  it('for memory, stops as many starting trees of one key as keep the rest under the critical mark, the youngest first', () => {
    // 780 + 3 × 150.5 = 1231.5 → 1080 → 929 → 778: all three go, youngest first.
    const { model, procs } = startingWhileInUse(3);
    expect(stopped(model.scan(procs, { nowMs: 30_000, cgroup: memoryAt(780) }))).toEqual([
      [320, 'memory-headroom'],
      [310, 'memory-headroom'],
      [300, 'memory-headroom'],
    ]);
    // Below the high mark, what is starting is left alone.
    const { model: calm, procs: same } = startingWhileInUse(3);
    expect(calm.scan(same, { nowMs: 30_000, cgroup: memoryAt(760) }).stops).toEqual([]);
  });

  it('for memory, while an instance of the key is busy, waits for the critical mark: its request would fail', () => {
    // The same as above, but the grown tree of A served a request just now.
    const { model, procs } = startingWhileInUse(1);
    const busyNow = procs.map((p) => (p.pid >= 100 && p.pid < 110 ? { ...p, cpuTicks: p.cpuTicks + 1 } : p));
    const urgent = model.scan(busyNow, { nowMs: 30_000, cgroup: memoryAt(780) });
    expect(urgent.stops).toEqual([]);
    // Past the critical mark the limit comes first, as for pids: the busy one too, the
    // starting one last.
    expect(stopped(model.scan(busyNow, { nowMs: 30_100, cgroup: memoryAt(900) }))).toEqual([
      [100, 'memory-headroom'],
      [300, 'memory-headroom'],
    ]);
  });

  it('for pids, the same waits for the critical mark: at the pids limit a fork fails, nobody is killed', () => {
    // high 160, critical 180: 178 + 2 × 12 ≥ 200 is urgent, yet A is in use.
    const { model, procs } = startingWhileInUse(2);
    const plan = model.scan(procs, { nowMs: 30_000, cgroup: pidsAt(178) });
    expect(plan.pressed).toBe(true);
    expect(plan.stops).toEqual([]);
  });
});

describe('planStops: respawn loops', () => {
  it('does not call it a loop when the app starts nothing new', () => {
    const model = new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 5000 }));
    const run = runScans(model, trees(5, pkgA, 100), 20_000, 60_000);
    expect(run.stops.map(([pid]) => pid)).toEqual([100, 110, 120, 130]);
    expect(run.loops).toEqual([]);
  });

  it('after three stops of one key within a minute, says so once and leaves its duplicates alone', () => {
    const model = new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 5000 }));
    const loops: Plan['loops'] = [];
    const stops: [number, string][] = [];
    // The app starts a new instance of A each time the guard stops one: always two of them,
    // each new one started at the start of its round (tick = its pid * 10 is old enough).
    for (let round = 0; round < 6; round += 1) {
      const first = 100 + round * 20;
      const procs = [...makeNpmTree(first, { pkg: pkgA }), ...makeNpmTree(first + 10, { pkg: pkgA })];
      const run = runScans(model, procs, 20_000 + round * 15_000, 34_000 + round * 15_000);
      stops.push(...run.stops);
      loops.push(...run.loops);
    }
    expect(stops.length).toBe(3);
    expect(loops).toHaveLength(1);
    expect(loops[0]).toMatchObject({ key: `npm exec ${pkgA}`, stopsInWindow: 3, backoffMs: 300_000 });
    // During the back-off nothing of A is stopped as a duplicate.
    const procs = [...makeNpmTree(900, { pkg: pkgA }), ...makeNpmTree(905, { pkg: pkgA })];
    const during = scanUntil(model, procs, 200_000, 300_000);
    expect(during.stops).toEqual([]);
    expect(during.loops).toEqual([]);
  });
});

describe('planStops: a storm the app keeps restarting', () => {
  it('once it is a respawn loop, stops at most one starting tree of the key a second, even at the critical mark', () => {
    const model = new GuardModel();
    scanUntil(model, trees(1, pkgA, 100), 20_000, 21_000);
    // Every 200 ms the app starts two launchers of A; the guard stops what the limit needs.
    let pid = 1000;
    let live: ProcInfo[] = [];
    const stopTimes: number[] = [];
    const loops: Plan['loops'] = [];
    let loopAt = Infinity;
    for (let t = 30_000; t <= 50_000; t += 200) {
      for (let n = 0; n < 2; n += 1, pid += 10) live.push(makeNpmTree(pid, { pkg: pkgA, startTicks: t / 10 })[0]!);
      const plan = model.scan(live, { nowMs: t, cgroup: pidsAt(190) });
      if (plan.loops.length > 0) loopAt = t;
      loops.push(...plan.loops);
      const gone = new Set(plan.stops.map((s) => s.instance.launcher.pid));
      live = live.filter((p) => !gone.has(p.pid));
      for (const _ of plan.stops) stopTimes.push(t);
    }
    expect(loops).toHaveLength(1);
    // After the loop is said, stops are at least a second apart.
    const after = stopTimes.filter((t) => t > loopAt);
    expect(after.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < after.length; i += 1) expect(after[i]! - after[i - 1]!).toBeGreaterThanOrEqual(1000);
  });
});

describe('planStops on generated process tables', () => {
  // A small deterministic PRNG so that a failure can be replayed from its seed.
  function random(seed: number) {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
  }

  it('never plans the init, the main child, anything outside the app, a protected group, a busy instance short of critical, or a starting one short of urgent: 3000 runs', () => {
    const violations: string[] = [];
    for (let seed = 1; seed <= 3000; seed += 1) {
      const rand = random(seed);
      const model = new GuardModel(
        makeConfig({ maxPerCommand: 1 + Math.floor(rand() * 3), idleAfterMs: rand() < 0.5 ? 0 : 5000, orphanGraceMs: rand() < 0.5 ? 0 : 3000 }),
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
        procs.push(makeNpmTree(pid, { parent: inMain ? 7 : INIT_PID })[0]!);
        if (!inMain) outsiders.add(pid);
        else procs[procs.length - 1] = { ...procs[procs.length - 1]!, pgid: 7, sid: 7 };
        pid += 1;
      }
      for (let step = 0; step < 6; step += 1) {
        const nowMs = 30_000 + step * 1000 * (1 + Math.floor(rand() * 5));
        // Some processes die (launchers leaving orphans), some use CPU.
        procs = procs
          .filter(() => rand() > 0.05)
          .map((p) => {
            const reparented = !procs.some((q) => q.pid === p.ppid) && p.ppid !== 7 ? { ...p, ppid: INIT_PID } : p;
            return rand() < 0.3 ? { ...reparented, cpuTicks: reparented.cpuTicks + 1 } : reparented;
          });
        const cgroup = pidsAt(Math.floor(rand() * 260), 200);
        const plan = model.scan(procs, { nowMs, cgroup });
        const keysStopped = new Map<string, number>();
        for (const stop of plan.stops) {
          const where = `seed ${seed} step ${step} ${stop.instance.id} ${stop.reason}`;
          for (const member of stop.instance.members) {
            if (member.pid === INIT_PID || member.pid === 7) violations.push(`${where}: the init or the main child`);
            if (outsiders.has(member.pid)) violations.push(`${where}: a process outside the app (${member.pid})`);
          }
          if (stop.instance.pgid !== undefined && [0, 1, 7].includes(stop.instance.pgid)) violations.push(`${where}: protected group ${stop.instance.pgid}`);
          const { busy, starting, pressure } = stop.evidence;
          const held = stop.reason !== 'orphan' && !stop.instance.orphaned;
          if (held && pressure !== 'critical' && busy) violations.push(`${where}: busy short of critical`);
          if (held && pressure !== 'critical' && pressure !== 'urgent' && starting) violations.push(`${where}: starting short of urgent`);
          if (held && pressure !== 'critical' && pressure !== 'urgent') keysStopped.set(stop.instance.key, (keysStopped.get(stop.instance.key) ?? 0) + 1);
        }
        for (const [key, count] of keysStopped) if (count > 1) violations.push(`seed ${seed} step ${step}: ${count} stops of ${key} at once short of critical`);
        if (new Set(plan.stops.map((s) => s.instance.id)).size !== plan.stops.length) violations.push(`seed ${seed} step ${step}: one instance planned twice`);
      }
    }
    expect(violations.slice(0, 10)).toEqual([]);
  });
});
