import { describe, expect, it } from 'vitest';
import { keyOf, knowKey, pkgA, pkgB, runScans, scanUntil, stopped, trees, used } from '../../helpers/scans.js';
import { GuardModel, makeConfig, makeNpmTree } from '../../helpers/snapshots.js';

describe('trimDuplicates', () => {
  const config = makeConfig({ maxPerCommand: 2, idleAfterMs: 30_000 });
  const tolerant = makeConfig({ maxPerCommand: 2, idleAfterMs: 30_000, appToleratesCrashes: true });

  it('stops nothing while every command is within its cap', () => {
    expect(scanUntil(new GuardModel(tolerant), trees(2, pkgA, 100), 20_000, 200_000).stops).toEqual([]);
  });

  /** Four instances of pkgA (cap 2) and one of pkgB, scanned to 50 s; 110 was used at 40 s, the others never. */
  function overTheCap(model: GuardModel) {
    const all = [...trees(4, pkgA, 100), ...trees(1, pkgB, 500)];
    scanUntil(model, all, 20_000, 39_000);
    const usedAt40 = all.map((p) => (p.pid >= 110 && p.pid < 120 ? { ...p, cpuTicks: 1 } : p));
    const before = scanUntil(model, usedAt40, 40_000, 49_000);
    return { model, procs: usedAt40, before, plan: model.scan(usedAt40, { nowMs: 50_000 }) };
  }

  it('does not trim a key whose stop may be a crash to the app: nothing forces it', () => {
    const { before, plan } = overTheCap(new GuardModel(config));
    expect(before.stops).toEqual([]);
    expect(plan.stops).toEqual([]);
  });

  it('trims a key whose servers end cleanly on SIGINT, the longest idle first, by SIGINT to its server', () => {
    const model = new GuardModel(config);
    knowKey(model, pkgA, { interrupt: 'clean' });
    const { before, plan } = overTheCap(model);
    expect(before.stops).toEqual([]);
    // 100, 120 and 130 are the longest idle; 100, the oldest, is the instance a pool at its
    // per-server cap shares, and 130, the youngest, its likely idle spare: 120 goes.
    expect(stopped(plan)).toEqual([[120, 'duplicate']]);
    expect(plan.stops[0]!.method).toBe('interrupt');
    expect(plan.stops[0]!.evidence).toMatchObject({
      idle: true,
      starting: false,
      busy: false,
      instancesOfKey: 4,
      busyOfKey: 0,
      startingOfKey: 0,
      cost: 'clean',
    });
  });

  it('trims an instance whose launcher takes an exit request, by that request, with no crash to spend', () => {
    const model = new GuardModel(config, { crashBudget: 0 });
    const all = [...trees(4, pkgA, 100), ...trees(1, pkgB, 500)];
    const input = { stdinClosable: new Set([100, 110, 120, 130]) };
    scanUntil(model, all, 20_000, 49_000, input);
    const plan = model.scan(all, { ...input, nowMs: 50_000 });
    // 100 and 130, the oldest and the youngest, are the ones a pool hands on; 110 goes first.
    expect(stopped(plan)).toEqual([[110, 'duplicate']]);
    expect(plan.stops[0]).toMatchObject({ method: 'close-stdin', evidence: { cost: 'clean' } });
  });

  it('trims any key when the operator says the app tolerates crashes, SIGINT first while it is not known to fail', () => {
    const { plan } = overTheCap(new GuardModel(tolerant));
    // By SIGINT, not 100 or 130: the pool hands them on, and an exit 0 would leave it a dead client.
    expect(stopped(plan)).toEqual([[120, 'duplicate']]);
    expect(plan.stops[0]).toMatchObject({ method: 'interrupt', evidence: { cost: 'crash' } });
    const known = new GuardModel(tolerant);
    knowKey(known, pkgA, { interrupt: 'crash' });
    // By TERM the app closes the key itself: the longest idle, the oldest among equals.
    const knownPlan = overTheCap(known).plan;
    expect(stopped(knownPlan)).toEqual([[100, 'duplicate']]);
    expect(knownPlan.stops[0]!.method).toBe('terminate');
  });

  it('touches no other instance of a key while the stop of one is under way', () => {
    const { model, procs, plan } = overTheCap(new GuardModel(tolerant));
    const next = model.scan(procs, { nowMs: 51_000, inFlight: new Map([['100:100', { key: plan.stops[0]!.instance.key }]]) });
    expect(next.stops).toEqual([]);
  });

  it('never stops an instance that is still starting, however many there are', () => {
    // Launched at 20 s (tick 2000+): younger than the 10 s start grace, and loading (using CPU) at every scan.
    let young = Array.from({ length: 6 }, (_, i) => makeNpmTree(100 + i * 10, { pkg: pkgA, startTicks: 2000 + i })).flat();
    const model = new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 0, appToleratesCrashes: true }));
    for (let t = 20_000; t <= 29_000; t += 1000) {
      young = used(young);
      expect(model.scan(young, { nowMs: t }).stops).toEqual([]);
    }
  });

  it('counts a live launcher with no child as starting, however old', () => {
    const model = new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 5000, appToleratesCrashes: true }));
    const loneLaunchers = [100, 110].map((pid) => makeNpmTree(pid, { pkg: pkgA })[0]!);
    const plan = scanUntil(model, loneLaunchers, 20_000, 60_000);
    expect(plan.stops).toEqual([]);
    expect([...plan.states.values()].every((state) => state.starting)).toBe(true);
  });

  it('never stops a busy instance for being a duplicate, and leaves its key alone while one is busy', () => {
    const model = new GuardModel(tolerant);
    let procs = trees(4, pkgA, 100);
    scanUntil(model, procs, 20_000, 60_000);
    // Instance 130 serves a request every second from 60 s on; the other three are long idle.
    for (let t = 61_000; t <= 120_000; t += 1000) {
      procs = procs.map((p) => (p.pid >= 130 ? { ...p, cpuTicks: p.cpuTicks + 1 } : p));
      expect(model.scan(procs, { nowMs: t }).stops).toEqual([]);
    }
  });

  it('counts I/O as use, not only CPU', () => {
    const model = new GuardModel(tolerant);
    const procs = trees(3, pkgA, 100);
    scanUntil(model, procs, 20_000, 40_000);
    // 120's server reads a request from its stdin every second (no CPU tick yet): it is busy.
    for (let t = 41_000; t <= 90_000; t += 1000) expect(model.scan(procs, { nowMs: t, io: new Map([[122, t]]) }).stops).toEqual([]);
  });

  it("counts npm's title and a plain npx argv of one command as duplicates", () => {
    const titled = makeNpmTree(100, { pkg: pkgA });
    const plain = makeNpmTree(200, { pkg: pkgA }).map((p, i) => (i === 0 ? { ...p, argv: ['npx', '-y', pkgA] } : p));
    const model = new GuardModel(makeConfig({ maxPerCommand: 1, idleAfterMs: 30_000, appToleratesCrashes: true }));
    knowKey(model, pkgA, { interrupt: 'crash' });
    expect(runScans(model, [...titled, ...plain], 20_000, 60_000).stops).toEqual([[100, 'duplicate']]);
  });

  it('not under pressure, trims a key only while nothing of it is starting', () => {
    const model = new GuardModel(makeConfig({ maxPerCommand: 2, idleAfterMs: 5000, appToleratesCrashes: true }));
    const settled = trees(3, pkgA, 100);
    scanUntil(model, settled, 20_000, 24_000);
    let starting = makeNpmTree(300, { pkg: pkgA, startTicks: 2950 });
    for (let t = 25_000; t <= 30_000; t += 1000) {
      starting = used(starting);
      expect(model.scan([...settled, ...starting], { nowMs: t }).stops).toEqual([]);
    }
  });

  it('leaves a key alone while a respawn loop is backed off', () => {
    const model = new GuardModel(tolerant);
    const key = keyOf(pkgA);
    model.state = {
      ...model.state,
      starts: new Map([[key, { startsAtMs: [], stopsAtMs: [], unmatchedStopsAtMs: [], respawnsAtMs: [], backoffUntilMs: 1_000_000, backoffMs: 300_000 }]]),
    };
    expect(overTheCap(model).plan.stops).toEqual([]);
  });
});
