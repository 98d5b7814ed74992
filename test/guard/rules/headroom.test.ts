import { describe, expect, it } from 'vitest';
import type { ProcInfo } from '../../../src/proc/snapshot.js';
import { keyOf, knowKey, pkgA, pkgB, scanUntil, stopped, trees, used } from '../../helpers/scans.js';
import { GuardModel, INIT_PID, makeConfig, makeNpmTree, pidsAt } from '../../helpers/snapshots.js';

// 200 max, 20% → high 160, critical 180, low 140. Each tree is 23 tasks.
// A growth of 80 tasks a second over the last moment puts the projection 40 above usage (half a second ahead).
const GROWING = { tasks: 80, bytes: 0 };

describe('relieve (pids): at the high mark, only stops that cost the app nothing', () => {
  it('stops nothing below the high watermark', () => {
    expect(scanUntil(new GuardModel(), trees(3, pkgA, 100), 20_000, 30_000, { cgroup: pidsAt(159) }).stops).toEqual([]);
  });

  it('stops instances of keys whose servers end cleanly, by SIGINT, more than one per key, until under the low mark, but never one the pool hands on', () => {
    const model = new GuardModel();
    knowKey(model, pkgA, { interrupt: 'clean' });
    // A's youngest settled instance, 130, is the pool's likely idle spare, and its oldest, 100,
    // the one a pool at its per-server cap shares with every new session: a clean stop of
    // either would leave the next session a dead client.
    const procs = [...trees(4, pkgA, 100), ...trees(2, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    const plan = model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(170) });
    // 170 → 147 → 124: 110 and 120 of A; B's stop would be a crash, and nothing forces one.
    expect(stopped(plan)).toEqual([
      [110, 'pids-headroom'],
      [120, 'pids-headroom'],
    ]);
    expect(plan.stops.every((s) => s.method === 'interrupt' && s.evidence.cost === 'clean' && s.evidence.pressure === 'high')).toBe(true);
  });

  it('stops nothing of keys whose stop may be a crash: the app may never need one', () => {
    expect(scanUntil(new GuardModel(), [...trees(2, pkgA, 100), ...trees(2, pkgB, 500)], 20_000, 31_000, { cgroup: pidsAt(179) }).stops).toEqual([]);
  });

  it('with --app-tolerates-crashes, stops the longest idle instances of quiet keys, one per key', () => {
    const model = new GuardModel(makeConfig({ appToleratesCrashes: true }));
    const procs = [...trees(3, pkgA, 100), ...trees(3, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    // B's instances were used at 31 s; A's were not: A goes first. By SIGINT, neither key's
    // oldest nor its youngest: the pool hands them on.
    const later = used(procs.filter((p) => p.pid >= 500)).concat(procs.filter((p) => p.pid < 500));
    const plans = [31_000, 32_000, 33_000, 34_000].map((nowMs) => model.scan(later, { nowMs, cgroup: pidsAt(170) }));
    expect(plans.flatMap(stopped)).toEqual([
      [110, 'pids-headroom'],
      [510, 'pids-headroom'],
    ]);
    // A's goes at once; B's once its use is a busy window old.
    expect(plans.map((p) => p.stops.length)).toEqual([1, 1, 0, 0]);
    expect(plans.flatMap((p) => p.stops).every((s) => s.evidence.pressure === 'high' && !s.evidence.busy && !s.evidence.starting)).toBe(true);
  });

  it('spares the instance a session may just have taken: the youngest settled one, while its replacement is fresh', () => {
    const model = new GuardModel();
    knowKey(model, pkgA, { interrupt: 'clean' });
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    const fresh = makeNpmTree(300, { pkg: pkgA, startTicks: 3090 })[0]!;
    // 100, 110 and 120 are idle; 120, the youngest, may be the spare a session took at 30.9 s,
    // and 100, the oldest, is the one shared at the cap.
    expect(stopped(model.scan([...settled, fresh], { nowMs: 31_000, cgroup: pidsAt(165) }))).toEqual([[110, 'pids-headroom']]);
  });

  it('takes orphans first, even within their grace', () => {
    const model = new GuardModel();
    model.scan([...makeNpmTree(100, { pkg: pkgA }), ...trees(2, pkgB, 500)], { nowMs: 20_000 });
    const [, sh, server] = makeNpmTree(100, { pkg: pkgA });
    const plan = model.scan([{ ...sh!, ppid: INIT_PID }, server!, ...trees(2, pkgB, 500)], { nowMs: 21_000, cgroup: pidsAt(165) });
    expect(plan.stops.map((s) => [s.instance.id, s.evidence.cost])).toEqual([['100:100', 'free']]);
  });

  it('accepts a headroom in tasks, and ignores a cgroup without a limit', () => {
    const procs = trees(3, pkgA, 100);
    const planAt = (config: Parameters<typeof makeConfig>[0], cgroup: ReturnType<typeof pidsAt>) => {
      const model = new GuardModel(makeConfig({ appToleratesCrashes: true, ...config }));
      scanUntil(model, procs, 20_000, 30_000);
      return model.scan(procs, { nowMs: 31_000, cgroup });
    };
    expect(planAt({ pidsHeadroom: { amount: 30 } }, pidsAt(171)).stops).toHaveLength(1);
    expect(planAt({ pidsHeadroom: { amount: 20 } }, pidsAt(171)).stops).toEqual([]);
    expect(planAt({}, { pids: { currentTasks: 100_000, dir: '/' } }).stops).toEqual([]);
  });
});

describe('relieve (pids): once the projection reaches the limit', () => {
  it('stops the longest idle instances of quiet keys, one per key, SIGINT first', () => {
    const model = new GuardModel();
    const procs = [...trees(3, pkgA, 100), ...trees(3, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    // 165 + 40 ≥ 200: urgent. By SIGINT, not the oldest or youngest of a key: the pool hands them on.
    const plan = model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(165), growthPerSecond: GROWING });
    expect(stopped(plan)).toEqual([
      [110, 'pids-headroom'],
      [510, 'pids-headroom'],
    ]);
    expect(plan.stops.map((s) => [s.method, s.evidence.cost, s.evidence.pressure])).toEqual([
      ['interrupt', 'crash', 'urgent'],
      ['interrupt', 'crash', 'urgent'],
    ]);
  });

  it('does not interrupt a key whose servers SIGINT does not end cleanly: TERM at once', () => {
    const model = new GuardModel();
    knowKey(model, pkgA, { interrupt: 'ignored' });
    const procs = trees(2, pkgA, 100);
    scanUntil(model, procs, 20_000, 30_000);
    expect(model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(165), growthPerSecond: GROWING }).stops.map((s) => s.method)).toEqual(['terminate']);
  });

  it('waits while every key has a busy instance, short of critical', () => {
    const model = new GuardModel();
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    // 120 serves a request: A is busy, and A is the only key.
    const busy = settled.map((p) => (p.pid >= 120 ? { ...p, cpuTicks: 3 } : p));
    expect(model.scan(busy, { nowMs: 31_000, cgroup: pidsAt(175), growthPerSecond: GROWING }).stops).toEqual([]);
    // At the critical mark the limit comes first: the longest idle goes, of those the pool does
    // not hand on (by SIGINT, 100, the oldest, would be a dead client shared at its cap).
    expect(stopped(model.scan(busy, { nowMs: 31_100, cgroup: pidsAt(185) }))).toEqual([[110, 'pids-headroom']]);
  });

  it('a sibling that is still starting does not hold back the stop of an idle one', () => {
    const model = new GuardModel();
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    // Launched at 27.5 s, seen since 28 s, still loading (its CPU moves).
    let starting = makeNpmTree(300, { pkg: pkgA, startTicks: 2750 });
    let plan = model.scan(settled, { nowMs: 27_900 });
    for (let t = 28_000; t <= 31_000; t += 1000) {
      starting = used(starting);
      plan = model.scan([...settled, ...starting], { nowMs: t, cgroup: t === 31_000 ? pidsAt(165) : undefined, growthPerSecond: GROWING });
    }
    // 110 rather than 100, the oldest, which the pool would share at its cap; then, as the
    // rest would still reach the limit (165 + 23 growing + 80 in the next second), 100 in
    // place of the starting tree (a crash either way, but not a session's start).
    expect(stopped(plan)).toEqual([
      [110, 'pids-headroom'],
      [100, 'pids-headroom'],
    ]);
    expect(plan.stops[0]!.evidence).toMatchObject({ pressure: 'urgent', startingOfKey: 1, busyOfKey: 0 });
  });

  it('when the trees already there will reach the limit once grown, stops an idle one first', () => {
    const model = new GuardModel();
    // Three full trees of A teach the guard that one grows to 23 tasks.
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 27_000);
    // Four launchers of A that have not started their servers yet (11 tasks each, 12 more to come).
    const launchers = [300, 310, 320, 330].map((pid) => makeNpmTree(pid, { pkg: pkgA, startTicks: 2750 + pid })[0]!);
    scanUntil(model, [...settled, ...launchers], 28_000, 30_000);
    // 165 + 4 × 12 = 213 ≥ 200: 110 goes (by SIGINT, not 100 or 120, which the pool hands on);
    // A is then being stopped, so nothing else of A in this scan.
    const plan = model.scan([...settled, ...launchers], { nowMs: 31_000, cgroup: pidsAt(165) });
    expect(stopped(plan)).toEqual([[110, 'pids-headroom']]);
    expect(plan.stops[0]!.evidence).toMatchObject({ pressure: 'urgent', starting: false });
  });

  it("stops an idle tree of a busy key in place of a starting one: both are crashes, but the starting one is a session's", () => {
    const model = new GuardModel();
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 27_000);
    const launchers = [300, 310, 320, 330].map((pid) => makeNpmTree(pid, { pkg: pkgA, startTicks: 2750 + pid })[0]!);
    scanUntil(model, [...settled, ...launchers], 28_000, 30_000);
    // 120 serves a request: A is busy, so no tier takes its idle ones short of critical.
    const busy = settled.map((p) => (p.pid >= 120 ? { ...p, cpuTicks: 3 } : p));
    // 165 + 4 × 12 = 213 ≥ 200: one of A must go. Not a launcher: 110, idle (100, the oldest,
    // is the instance a pool at its cap shares, which a SIGINT might leave it dead).
    const plan = model.scan([...busy, ...launchers], { nowMs: 31_000, cgroup: pidsAt(165) });
    expect(stopped(plan)).toEqual([[110, 'pids-headroom']]);
    expect(plan.stops[0]!.evidence).toMatchObject({ pressure: 'urgent', starting: false, busy: false, busyOfKey: 1, startingOfKey: 4 });
  });

  it('stops more than one instance of a key at once only when the limit itself would be reached otherwise', () => {
    const settled = trees(4, pkgA, 100);
    const model = new GuardModel();
    scanUntil(model, settled, 20_000, 30_000);
    // By SIGINT the oldest and the youngest go last: the pool hands them on.
    expect(stopped(model.scan(settled, { nowMs: 31_000, cgroup: pidsAt(185) }))).toEqual([[110, 'pids-headroom']]);
    const model2 = new GuardModel();
    scanUntil(model2, settled, 20_000, 30_000);
    // Over the limit (a cgroup whose pids.max was lowered): 224 → 201 is still at the limit, → 178 is not.
    expect(stopped(model2.scan(settled, { nowMs: 31_000, cgroup: pidsAt(224) }))).toEqual([
      [110, 'pids-headroom'],
      [120, 'pids-headroom'],
    ]);
  });

  it('once the app was seen to close a key after a crash, counts the whole key as freed by one stop', () => {
    const model = new GuardModel();
    knowKey(model, pkgA, { interrupt: 'crash', crashFreesKey: true });
    const settled = trees(4, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    // 224: one crash of A frees all four (92 tasks): one stop, not two.
    const plan = model.scan(settled, { nowMs: 31_000, cgroup: pidsAt(224) });
    expect(stopped(plan)).toEqual([[100, 'pids-headroom']]);
    expect(plan.stops[0]!.method).toBe('terminate');
  });

  it("short of critical, waits for the app's answer to a stop that may be a crash before another one", () => {
    const model = new GuardModel();
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    const [first] = model.scan(settled, { nowMs: 31_000, cgroup: pidsAt(165), growthPerSecond: GROWING }).stops;
    model.end({ id: first!.instance.id, endedBy: 'interrupt' }, 31_100);
    const rest = settled.filter((p) => p.pid >= 110);
    // The app has not closed the others yet, nor kept them for long: no second crash of A.
    expect(model.scan(rest, { nowMs: 31_200, cgroup: pidsAt(165), growthPerSecond: GROWING }).stops).toEqual([]);
    // At the critical mark the limit comes first.
    expect(stopped(model.scan(rest, { nowMs: 31_300, cgroup: pidsAt(185) }))).toEqual([[110, 'pids-headroom']]);
  });

  it('counts what the app is about to close after a crash as freed, once it was seen to', () => {
    const model = new GuardModel();
    knowKey(model, pkgA, { interrupt: 'crash', crashFreesKey: true });
    const settled = trees(4, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    const [first] = model.scan(settled, { nowMs: 31_000, cgroup: pidsAt(185) }).stops;
    model.end({ id: first!.instance.id, endedBy: 'terminate' }, 31_100);
    // 185, but A's three others are about to be closed by the app: nothing more to stop.
    expect(
      model.scan(
        settled.filter((p) => p.pid >= 110),
        { nowMs: 31_200, cgroup: pidsAt(185) },
      ).stops,
    ).toEqual([]);
  });

  it('does not count again what is already being stopped, and short of critical waits for it', () => {
    const model = new GuardModel();
    const procs = trees(3, pkgA, 100);
    scanUntil(model, procs, 20_000, 30_000);
    const inFlight = new Map([['100:100', { key: keyOf(pkgA) }]]);
    // 175 + 40 ≥ 200 is urgent; less the 23 under way, A is the one key and its stop is under way.
    expect(model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(175), growthPerSecond: GROWING, inFlight }).stops).toEqual([]);
    // Past critical a stop under way does not hold back the next: 185 - 23 = 162 ≥ 140.
    expect(stopped(model.scan(procs, { nowMs: 31_100, cgroup: pidsAt(185), inFlight }))).toEqual([[110, 'pids-headroom']]);
  });
});

describe('relieve (pids): at the critical mark', () => {
  it('stops busy instances too, longest idle first, one per key, and spares a starting one that fits', () => {
    const pkgC = '@modelcontextprotocol/server-c';
    const model = new GuardModel();
    const settled = [...trees(2, pkgA, 100), ...trees(1, pkgB, 500)];
    scanUntil(model, settled, 20_000, 28_000);
    let starting = makeNpmTree(700, { pkg: pkgC, startTicks: 2850 });
    for (let t = 29_000; t <= 30_000; t += 1000) {
      starting = used(starting);
      model.scan([...settled, ...starting], { nowMs: t });
    }
    // B serves a request at 31 s; C still loads.
    const busyB = settled.map((p) => (p.pid >= 500 ? { ...p, cpuTicks: 5 } : p));
    const plan = model.scan([...busyB, ...used(starting)], { nowMs: 31_000, cgroup: pidsAt(199) });
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

  /** A guard that saw one full tree of A, then only four launchers of A that have not started their servers. */
  function onlyStarting(config = makeConfig()) {
    const model = new GuardModel(config);
    scanUntil(model, trees(1, pkgA, 100), 20_000, 21_000);
    const launchers = [300, 310, 320, 330].map((pid) => makeNpmTree(pid, { pkg: pkgA, startTicks: 2750 + pid })[0]!);
    scanUntil(model, launchers, 28_000, 30_000);
    return { model, launchers };
  }

  it('short of critical, stops no more starting trees than keep the rest, grown, under the limit itself', () => {
    const { model, launchers } = onlyStarting();
    // 165 + 4 × 12 = 213 ≥ 200: urgent, and nothing settled is there to go. Each stop of a
    // starting tree is a crash and a retry to MetaMCP: one, the youngest, by TERM (213 → 190).
    const plan = model.scan(launchers, { nowMs: 31_000, cgroup: pidsAt(165) });
    expect(stopped(plan)).toEqual([[330, 'pids-headroom']]);
    expect(plan.stops[0]).toMatchObject({ method: 'terminate', evidence: { pressure: 'urgent', starting: true } });
  });

  it('with --app-tolerates-crashes, stops starting trees from the high mark while, grown, they would pass the critical mark, several of a key', () => {
    const { model, launchers } = onlyStarting(makeConfig({ appToleratesCrashes: true }));
    // 165 + 4 × 12 = 213: the youngest go while the rest would pass 180: 213 → 190 → 167.
    expect(stopped(model.scan(launchers, { nowMs: 31_000, cgroup: pidsAt(165) }))).toEqual([
      [330, 'pids-headroom'],
      [320, 'pids-headroom'],
    ]);
  });

  it('stops the youngest starting trees, several of a key while the rest, grown, would reach the limit, then one per key a scan', () => {
    const { model, launchers } = onlyStarting();
    // 185 + 4 × 12 = 233 → 210, still at the limit once grown: a second → 187, past the
    // critical mark but short of the limit: one per key a scan from there.
    expect(stopped(model.scan(launchers, { nowMs: 31_000, cgroup: pidsAt(185) }))).toEqual([
      [330, 'pids-headroom'],
      [320, 'pids-headroom'],
    ]);
    // At the limit itself (a cgroup whose pids.max was lowered), the youngest go while, grown,
    // the rest would pass the critical mark: 248 → 225 → 202 → 179.
    const { model: full, launchers: same } = onlyStarting();
    expect(stopped(full.scan(same, { nowMs: 31_000, cgroup: pidsAt(200) }))).toEqual([
      [330, 'pids-headroom'],
      [320, 'pids-headroom'],
      [310, 'pids-headroom'],
    ]);
  });
});

describe('relieve (memory)', () => {
  it('weighs memory by RSS against the working set', () => {
    // 1 GiB limit, 10% → high 921.6 MiB, critical 972.8 MiB. Each tree holds 3 × 256 pages × 4 KiB = 3 MiB.
    const limitBytes = 1024 ** 3;
    const memory = { usageBytes: limitBytes, workingSetBytes: limitBytes - 50 * 1024 ** 2, limitBytes, dir: '/' };
    const model = new GuardModel();
    const procs = [...trees(1, pkgA, 100), ...trees(1, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    expect(stopped(model.scan(procs, { nowMs: 31_000, cgroup: { memory } }))).toEqual([
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
    return { model, procs: [...grown, ...launchers] as ProcInfo[] };
  }
  // 1 GiB, 25%: high 768 MiB, critical 896 MiB. Each launcher will grow by 150.5 MiB.
  const memoryAt = (mib: number) => ({ memory: { usageBytes: mib * 1024 ** 2, workingSetBytes: mib * 1024 ** 2, limitBytes: 1024 ** 3, dir: '/' } });

  it('once the starting trees, grown, would pass the critical mark, stops them even while sessions ask for their key', () => {
    // 780 + 150.5 = 930.5: short of the limit, past the critical mark. The grown tree may be
    // the spare the session took: the starting one goes.
    const { model, procs } = startingWhileInUse(1);
    const plan = model.scan(procs, { nowMs: 30_000, cgroup: memoryAt(780) });
    expect(stopped(plan)).toEqual([[300, 'memory-headroom']]);
    expect(plan.stops[0]!.evidence).toMatchObject({ pressure: 'urgent', starting: true });
  });

  it('stops as many starting trees of one key as keep the rest under the critical mark, the youngest first', () => {
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

  it('while an instance of the key is busy, waits for the critical mark: its request would fail', () => {
    const { model, procs } = startingWhileInUse(1);
    const busyNow = procs.map((p) => (p.pid >= 100 && p.pid < 110 ? { ...p, cpuTicks: p.cpuTicks + 1 } : p));
    expect(model.scan(busyNow, { nowMs: 30_000, cgroup: memoryAt(780) }).stops).toEqual([]);
    // Past the critical mark the limit comes first, as for pids: the busy one too, the starting one last.
    expect(stopped(model.scan(busyNow, { nowMs: 30_100, cgroup: memoryAt(900) }))).toEqual([
      [100, 'memory-headroom'],
      [300, 'memory-headroom'],
    ]);
  });

  it('for pids, short of critical, stops starting trees only as far as the limit itself needs: a fork fails there, nobody is killed', () => {
    // high 160, critical 180: 178 + 2 × 12 = 202 ≥ 200 is urgent; the grown tree may be the
    // spare just taken; the youngest launcher goes (202 → 179), not two as for memory.
    const { model, procs } = startingWhileInUse(2);
    const plan = model.scan(procs, { nowMs: 30_000, cgroup: pidsAt(178) });
    expect(stopped(plan)).toEqual([[310, 'pids-headroom']]);
  });
});

describe('relieve: the crash budget', () => {
  it('makes no stop that may be a crash beyond the budget, even at the critical mark; clean ones still go', () => {
    const model = new GuardModel(makeConfig(), { crashBudget: 0 });
    knowKey(model, pkgB, { interrupt: 'clean' });
    const procs = [...trees(2, pkgA, 100), ...trees(3, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    const plan = model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(199) });
    expect(plan.stops.every((s) => s.instance.key === keyOf(pkgB) && s.evidence.cost === 'clean')).toBe(true);
    // 199 → 176 → 153 → 130: first the one the pool does not hand on; past the critical mark,
    // those it does too, longest idle first.
    expect(stopped(plan)).toEqual([
      [510, 'pids-headroom'],
      [500, 'pids-headroom'],
      [520, 'pids-headroom'],
    ]);
  });

  it('with no crash to spend, a clean stop has no TERM after it: one its SIGINT did not end is left to run, nothing spent', () => {
    const model = new GuardModel(makeConfig(), { crashBudget: 0 });
    knowKey(model, pkgA, { interrupt: 'clean' });
    const procs = [...trees(3, pkgA, 100), ...trees(3, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    const plan = model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(170) });
    expect(stopped(plan)).toEqual([[110, 'pids-headroom']]);
    expect(plan.stops[0]).toMatchObject({ method: 'interrupt', terminateIfIgnored: false, evidence: { cost: 'clean' } });
    model.end({ id: plan.stops[0]!.instance.id, endedBy: 'survived' }, 33_100);
    // The key is no longer taken for clean, and with no crash to spend nothing more of it goes.
    expect(model.state.records.get(keyOf(pkgA))).toEqual({ interrupt: 'ignored' });
    expect(model.scan(procs, { nowMs: 34_000, cgroup: pidsAt(199) }).stops).toEqual([]);
    expect(model.state.crashStopsByKey.get(keyOf(pkgA)) ?? 0).toBe(0);
  });

  it('with no crash to spend, stops at the high mark what may be asked to exit 0, of any key, but never one the pool hands on', () => {
    const model = new GuardModel(makeConfig(), { crashBudget: 0 });
    const procs = [...trees(3, pkgA, 100), ...trees(3, pkgB, 500)];
    // The launchers of A take an exit request; those of B (not Node, say) do not.
    const input = { stdinClosable: new Set([100, 110, 120]) };
    scanUntil(model, procs, 20_000, 30_000, input);
    const plan = model.scan(procs, { ...input, nowMs: 31_000, cgroup: pidsAt(170) });
    // 100 and 120 are the ones the pool hands on: an exit 0 would leave it a dead client there.
    expect(stopped(plan)).toEqual([[110, 'pids-headroom']]);
    expect(plan.stops[0]).toMatchObject({ method: 'close-stdin', terminateIfIgnored: false, evidence: { cost: 'clean' } });
    model.end({ id: plan.stops[0]!.instance.id, endedBy: 'close-stdin' }, 31_200);
    expect(model.state.crashStopsByKey.get(keyOf(pkgA)) ?? 0).toBe(0);
    // Without exit requests the same scan stops nothing: every stop of A or B may be a crash.
    const signalsOnly = new GuardModel(makeConfig({ stdinCloses: false }), { crashBudget: 0 });
    scanUntil(signalsOnly, procs, 20_000, 30_000, input);
    expect(signalsOnly.scan(procs, { ...input, nowMs: 31_000, cgroup: pidsAt(170) }).stops).toEqual([]);
  });

  it('with a crash to spend, a clean stop may fall back on TERM, and one that did is spent as the crash it was', () => {
    const model = new GuardModel(makeConfig(), { crashBudget: 2 });
    knowKey(model, pkgA, { interrupt: 'clean' });
    const procs = trees(3, pkgA, 100);
    scanUntil(model, procs, 20_000, 30_000);
    const [stop] = model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(170) }).stops;
    expect(stop).toMatchObject({ method: 'interrupt', terminateIfIgnored: true, evidence: { cost: 'clean' } });
    model.end({ id: stop!.instance.id, endedBy: 'terminate' }, 33_100);
    expect(model.state.crashStopsByKey.get(keyOf(pkgA))).toBe(1);
  });

  it('past critical, stops by TERM an instance the pool hands on, where the budget has a crash: by SIGINT it would be a dead client', () => {
    const model = new GuardModel(makeConfig(), { crashBudget: 999 });
    knowKey(model, pkgB, { interrupt: 'clean' });
    const procs = [...trees(2, pkgA, 100), ...trees(3, pkgB, 500)];
    scanUntil(model, procs, 20_000, 30_000);
    const plan = model.scan(procs, { nowMs: 31_000, cgroup: pidsAt(199) });
    const byPid = new Map(plan.stops.map((s) => [s.instance.launcher.pid, [s.method, s.evidence.cost]]));
    // 510 is B's middle instance: SIGINT, clean. 500 and 520 are the ones the pool hands on.
    expect(byPid.get(510)).toEqual(['interrupt', 'clean']);
    expect(byPid.get(500)).toEqual(['terminate', 'crash']);
    expect(byPid.get(520) ?? ['terminate', 'crash']).toEqual(['terminate', 'crash']);
  });

  it('spends the budget one stop at a time, and gives back an interrupt the app took as clean', () => {
    const model = new GuardModel(makeConfig(), { crashBudget: 1 });
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 30_000);
    const [first] = model.scan(settled, { nowMs: 31_000, cgroup: pidsAt(199) }).stops;
    expect(first).toMatchObject({ method: 'interrupt', evidence: { cost: 'crash' } });
    model.end({ id: first!.instance.id, endedBy: 'interrupt' }, 31_100);
    const rest = settled.filter((p) => p.pid >= 110);
    // Spent: nothing more of A, though the limit is near.
    expect(model.scan(rest, { nowMs: 31_200, cgroup: pidsAt(199) }).stops).toEqual([]);
    // The app kept A's others: the interrupt was clean, the budget given back, and A now stops
    // cleanly. (Short of critical: past it, the two left, the ones the pool hands on, would go by TERM.)
    const after = model.scan(rest, { nowMs: 36_200, cgroup: pidsAt(175) });
    expect(after.lessons.map((l) => l.record.interrupt)).toEqual(['clean']);
    expect(model.state.crashStopsByKey.get(keyOf(pkgA))).toBe(0);
  });
});
