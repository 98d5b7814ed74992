import { describe, expect, it } from 'vitest';
import { isBackedOff, type KeyStarts, RESPAWN_WINDOW_MS, recordStarts } from '../../src/guard/respawns.js';

const KEY = 'npm exec @modelcontextprotocol/server-a';
const none = () => 0;

/** Feeds events in time order: `start` and `stop` of KEY at the given times. */
function replay(events: [number, 'start' | 'stop'][]) {
  let starts: Map<string, KeyStarts> = new Map();
  const loops = [];
  for (const [t, kind] of events) {
    const next = recordStarts(starts, kind === 'start' ? [KEY] : [], kind === 'stop' ? [KEY] : [], none, t);
    starts = next.starts;
    loops.push(...next.loops.map((loop) => ({ ...loop, t })));
  }
  return { starts, loops };
}

describe('recordStarts', () => {
  it('calls a start that replaces a stop, with no demand of its own before it, a respawn', () => {
    const { starts } = replay([
      [0, 'start'],
      [20_000, 'stop'],
      [20_500, 'start'],
    ]);
    expect(starts.get(KEY)!.respawnsAtMs).toEqual([20_500]);
  });

  it('calls starts demand while the key was started in the window before the stop: new sessions, stops or not', () => {
    // A storm: a new session every 250 ms; the guard stops one now and then.
    const events: [number, 'start' | 'stop'][] = [];
    for (let t = 0; t < 20_000; t += 250) events.push([t, 'start']);
    for (let t = 3_000; t < 20_000; t += 500) events.push([t + 1, 'stop']);
    events.sort((a, b) => a[0] - b[0]);
    const { starts, loops } = replay(events);
    expect(starts.get(KEY)!.respawnsAtMs).toEqual([]);
    expect(loops).toEqual([]);
  });

  it('matches each stop with one start at most, and only within the respawn window', () => {
    const { starts } = replay([
      [0, 'start'],
      [20_000, 'stop'],
      [20_100, 'start'],
      [20_200, 'start'],
      [40_000, 'stop'],
      [40_000 + RESPAWN_WINDOW_MS + 1, 'start'],
    ]);
    expect(starts.get(KEY)!.respawnsAtMs).toEqual([20_100]);
  });

  it('after three respawns within a minute, says it once and backs off for 5 minutes, twice as long the next time', () => {
    const events: [number, 'start' | 'stop'][] = [[0, 'start']];
    for (let round = 1; round <= 4; round += 1) events.push([round * 12_000, 'stop'], [round * 12_000 + 500, 'start']);
    const { starts, loops } = replay(events);
    expect(loops).toHaveLength(1);
    expect(loops[0]).toMatchObject({ key: KEY, respawnsInWindow: 3, backoffMs: 300_000, t: 36_500 });
    expect(isBackedOff(starts.get(KEY), 36_500 + 299_999)).toBe(true);
    expect(isBackedOff(starts.get(KEY), 36_500 + 300_000)).toBe(false);
    // It loops again right after: 10 minutes.
    const again: [number, 'start' | 'stop'][] = [];
    for (let round = 1; round <= 3; round += 1) again.push([336_500 + round * 12_000, 'stop'], [336_500 + round * 12_000 + 500, 'start']);
    let state = starts;
    const more = [];
    for (const [t, kind] of again) {
      const next = recordStarts(state, kind === 'start' ? [KEY] : [], kind === 'stop' ? [KEY] : [], none, t);
      state = next.starts;
      more.push(...next.loops);
    }
    expect(more.map((loop) => loop.backoffMs)).toEqual([600_000]);
  });
});
