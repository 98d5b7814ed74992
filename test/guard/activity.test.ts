import { describe, expect, it } from 'vitest';
import { type Activity, judgeInstance, SETTLE_MS, trackActivity } from '../../src/guard/activity.js';
import { makeInstance, makeNpmTree, makeProc } from '../helpers/snapshots.js';

const SETTINGS = { startGraceMs: 10_000, idleAfterMs: 120_000, busyWithinMs: 1000 };

/** One npm exec tree (launcher 100, sh 101, server 102), its server having used `serverTicks`. */
function instanceWith(serverTicks: number, launcherTicks = 0) {
  const [launcher, sh, server] = makeNpmTree(100);
  return makeInstance([{ ...launcher!, cpuTicks: launcherTicks }, sh!, { ...server!, cpuTicks: serverTicks }]);
}

describe('trackActivity', () => {
  it('starts the record of a new instance now, with the usage of its server side', () => {
    const instance = instanceWith(7, 3);
    expect(trackActivity(5000, [instance], new Map(), new Map()).get(instance.id)).toEqual({
      usage: 7,
      firstSeenMs: 5000,
      activeAtMs: 5000,
      shape: '3/23',
      shapeChangedAtMs: 5000,
    });
  });

  it('counts I/O bytes of the members as use', () => {
    const instance = instanceWith(7);
    expect(trackActivity(0, [instance], new Map([[102, 4096]]), new Map()).get(instance.id)?.usage).toBe(4103);
  });

  it('keeps the time of last use while usage stays the same', () => {
    const instance = instanceWith(7);
    const before = trackActivity(1000, [instance], new Map(), new Map());
    expect(trackActivity(9000, [instance], new Map(), before).get(instance.id)).toMatchObject({ firstSeenMs: 1000, activeAtMs: 1000 });
  });

  it('moves the time of last use when the server used CPU', () => {
    const before = trackActivity(1000, [instanceWith(7)], new Map(), new Map());
    const instance = instanceWith(8);
    expect(trackActivity(9000, [instance], new Map(), before).get(instance.id)).toMatchObject({ firstSeenMs: 1000, activeAtMs: 9000 });
  });

  it("does not count the live launcher's own CPU as use", () => {
    const before = trackActivity(1000, [instanceWith(7, 0)], new Map(), new Map());
    const instance = instanceWith(7, 10);
    expect(trackActivity(9000, [instance], new Map(), before).get(instance.id)?.activeAtMs).toBe(1000);
  });

  it('counts every member once the launcher is dead', () => {
    const instance = { ...instanceWith(7, 3), launcherAlive: false };
    expect(trackActivity(0, [instance], new Map(), new Map()).get(instance.id)?.usage).toBe(10);
  });

  it('moves the time of the last change of shape when the tree grows', () => {
    const instance = instanceWith(0);
    const before = trackActivity(1000, [instance], new Map(), new Map());
    const grown = { ...instance, members: [...instance.members, makeProc(103, { ppid: 102 })], tasks: instance.tasks + 1 };
    expect(trackActivity(9000, [instance], new Map(), before).get(instance.id)?.shapeChangedAtMs).toBe(1000);
    expect(trackActivity(9000, [grown], new Map(), before).get(instance.id)).toMatchObject({ shape: '4/24', shapeChangedAtMs: 9000 });
  });

  it('forgets instances that are gone', () => {
    const before = trackActivity(1000, [instanceWith(7)], new Map(), new Map());
    expect(trackActivity(2000, [], new Map(), before).size).toBe(0);
  });
});

describe('judgeInstance', () => {
  const settled = (activeAtMs: number): Activity => ({ usage: 0, firstSeenMs: 0, activeAtMs, shape: '3/23', shapeChangedAtMs: 0 });
  const instance = instanceWith(0);

  it('says how old and how long idle the instance is', () => {
    expect(judgeInstance(instance, settled(40_000), 50_000, 60_000, SETTINGS)).toMatchObject({ ageMs: 50_000, idleMs: 20_000 });
  });

  it('calls an instance younger than the start grace starting while it shows nothing of having started', () => {
    // Its server loads: it used CPU within the settle time.
    expect(judgeInstance(instance, settled(199_000), 9999, 200_000, SETTINGS)).toEqual({ ageMs: 9999, idleMs: 1000, starting: true, busy: false, idle: false });
    // A member is runnable (loading, or waiting for a CPU on a loaded machine).
    const loading = makeInstance(makeNpmTree(100).map((p, i) => (i === 2 ? { ...p, state: 'R' } : p)));
    expect(judgeInstance(loading, settled(0), 9999, 200_000, SETTINGS).starting).toBe(true);
  });

  it('calls a young instance settled once its shape and its use were still for the settle time, every member asleep', () => {
    expect(judgeInstance(instance, settled(200_000 - SETTLE_MS), 3000, 200_000, SETTINGS)).toMatchObject({ starting: false, busy: false });
    expect(judgeInstance(instance, settled(200_000 - SETTLE_MS + 1), 3000, 200_000, SETTINGS).starting).toBe(true);
    const stillGrowing = { ...settled(0), shapeChangedAtMs: 200_000 - SETTLE_MS + 1 };
    expect(judgeInstance(instance, stillGrowing, 3000, 200_000, SETTINGS).starting).toBe(true);
  });

  it('calls an instance whose tree changed shape within the settle time starting', () => {
    const activity = { ...settled(0), shapeChangedAtMs: 100_000 };
    expect(judgeInstance(instance, activity, 100_000, 100_000 + SETTLE_MS - 1, SETTINGS).starting).toBe(true);
    expect(judgeInstance(instance, activity, 100_000, 100_000 + SETTLE_MS, SETTINGS).starting).toBe(false);
  });

  it('calls a live npm exec with no child yet starting, however old', () => {
    const lone = makeInstance(makeNpmTree(100).slice(0, 1));
    expect(judgeInstance(lone, settled(0), 600_000, 600_000, SETTINGS).starting).toBe(true);
  });

  it('calls a tree the guard holds (a member stopped) starting, however old and still', () => {
    const held = makeInstance(makeNpmTree(100).map((p) => ({ ...p, state: 'T' })));
    expect(judgeInstance(held, settled(0), 600_000, 600_000, SETTINGS).starting).toBe(true);
  });

  it('does not call a lone launcher of another kind starting: it may be the server itself', () => {
    const lone = makeInstance([makeProc(100, { argv: ['uvx', 'mcp-server-fetch'] })]);
    expect(judgeInstance(lone, settled(0), 600_000, 600_000, SETTINGS).starting).toBe(false);
  });

  it('calls a settled instance used within the busy window busy', () => {
    expect(judgeInstance(instance, settled(59_001), 60_000, 60_000, SETTINGS)).toMatchObject({ starting: false, busy: true, idle: false });
    expect(judgeInstance(instance, settled(59_000), 60_000, 60_000, SETTINGS).busy).toBe(false);
  });

  it('calls a settled instance unused for the idle-after time idle', () => {
    expect(judgeInstance(instance, settled(0), 120_000, 120_000, SETTINGS)).toMatchObject({ starting: false, busy: false, idle: true });
    expect(judgeInstance(instance, settled(1), 120_000, 120_000, SETTINGS).idle).toBe(false);
  });
});
