import { describe, expect, it } from 'vitest';
import type { Instance } from '../../src/guard/instances.js';
import { isBackedOff, type KeyStops, type RespawnLoop, recordStops } from '../../src/guard/respawn-loops.js';
import { makeInstance, makeNpmTree } from '../helpers/snapshots.js';

const KEY = 'npm exec @modelcontextprotocol/server-everything';
const MINUTE = 60_000;

type Event = [atMs: number, what: 'stop' | 'start'];

/** Records each event of KEY in turn, as scans would; returns the last state and every loop said. */
function record(events: readonly Event[], before: ReadonlyMap<string, KeyStops> = new Map(), byKey: ReadonlyMap<string, readonly Instance[]> = new Map()) {
  let stopsByKey: Map<string, KeyStops> = new Map(before);
  const loops: RespawnLoop[] = [];
  for (const [atMs, what] of events) {
    const recorded = recordStops(stopsByKey, what === 'stop' ? [KEY] : [], what === 'start' ? [KEY] : [], byKey, atMs);
    stopsByKey = recorded.stopsByKey;
    loops.push(...recorded.loops);
  }
  return { stopsByKey, loops };
}

/** Three stops of KEY 10 s apart in all, each but the last followed by a start: a loop by the rule. */
function loopFrom(startMs: number): Event[] {
  return [
    [startMs, 'stop'],
    [startMs + 1000, 'start'],
    [startMs + 5000, 'stop'],
    [startMs + 6000, 'start'],
    [startMs + 10_000, 'stop'],
  ];
}

describe('recordStops', () => {
  it('records the time of each stop of a key', () => {
    const { stopsByKey } = record([
      [1000, 'stop'],
      [3000, 'stop'],
    ]);
    expect(stopsByKey.get(KEY)).toEqual({ atMs: [1000, 3000], startedAtMs: [] });
  });

  it('counts starts only after a stop of their key', () => {
    const { stopsByKey } = record([
      [500, 'start'],
      [1000, 'stop'],
      [2000, 'start'],
    ]);
    expect(stopsByKey.get(KEY)).toEqual({ atMs: [1000], startedAtMs: [2000] });
  });

  it('forgets stops and starts a minute old', () => {
    const { stopsByKey } = record([
      [0, 'stop'],
      [1000, 'start'],
      [30_000, 'stop'],
      [61_000, 'start'],
    ]);
    expect(stopsByKey.get(KEY)).toEqual({ atMs: [30_000], startedAtMs: [61_000] });
  });

  it('forgets a key whose last stop is a minute old', () => {
    const { stopsByKey } = record([[0, 'stop']]);
    expect(recordStops(stopsByKey, [], [], new Map(), MINUTE - 1).stopsByKey.has(KEY)).toBe(true);
    expect(recordStops(stopsByKey, [], [], new Map(), MINUTE).stopsByKey.has(KEY)).toBe(false);
  });

  it('calls three stops and two starts of a key over 10 s a loop, once, with the figures of the window', () => {
    const byKey = new Map([[KEY, [makeInstance(makeNpmTree(100)), makeInstance(makeNpmTree(110))]]]);
    const { loops } = record(loopFrom(0), new Map(), byKey);
    expect(loops).toEqual([{ key: KEY, stopsInWindow: 3, startsInWindow: 2, windowMs: MINUTE, instancesNow: 2, backoffMs: 5 * MINUTE }]);
  });

  it('backs a looping key off for 5 minutes, starting its count over', () => {
    const { stopsByKey } = record(loopFrom(0));
    expect(stopsByKey.get(KEY)).toEqual({ atMs: [], startedAtMs: [], backoffUntilMs: 10_000 + 5 * MINUTE, backoffMs: 5 * MINUTE });
  });

  it('does not call a burst shorter than 10 s a loop', () => {
    const events: Event[] = [
      [0, 'stop'],
      [1000, 'start'],
      [2000, 'stop'],
      [3000, 'start'],
      [9999, 'stop'],
    ];
    expect(record(events).loops).toEqual([]);
  });

  it('does not call stops a loop while the app starts fewer than two new instances', () => {
    const events = loopFrom(0).filter(([atMs]) => atMs !== 6000);
    expect(record(events).loops).toEqual([]);
  });

  it('says nothing more while the key is backed off', () => {
    const { stopsByKey } = record(loopFrom(0));
    expect(record(loopFrom(20_000), stopsByKey).loops).toEqual([]);
  });

  it('doubles the back-off of a key that loops again within a minute of its end, up to an hour', () => {
    const ended = (backoffMs: number) => new Map([[KEY, { atMs: [], startedAtMs: [], backoffUntilMs: 0, backoffMs }]]);
    expect(record(loopFrom(1000), ended(5 * MINUTE)).loops[0]?.backoffMs).toBe(10 * MINUTE);
    expect(record(loopFrom(1000), ended(40 * MINUTE)).loops[0]?.backoffMs).toBe(60 * MINUTE);
  });

  it('starts again from 5 minutes once a minute has passed since the back-off ended', () => {
    const ended = new Map([[KEY, { atMs: [], startedAtMs: [], backoffUntilMs: 0, backoffMs: 20 * MINUTE }]]);
    expect(record(loopFrom(MINUTE), ended).loops[0]?.backoffMs).toBe(5 * MINUTE);
  });
});

describe('isBackedOff', () => {
  it('holds from the loop until its back-off ends', () => {
    const stops: KeyStops = { atMs: [], startedAtMs: [], backoffUntilMs: 5000, backoffMs: 5000 };
    expect(isBackedOff(stops, 4999)).toBe(true);
    expect(isBackedOff(stops, 5000)).toBe(false);
  });

  it('does not hold for a key without a back-off, or an unknown key', () => {
    expect(isBackedOff({ atMs: [1000], startedAtMs: [] }, 2000)).toBe(false);
    expect(isBackedOff(undefined, 2000)).toBe(false);
  });
});
