import { describe, expect, it } from 'vitest';
import { DEMAND_WINDOW_MS, EMPTY_DEMAND, judgeDemand, recordForced } from '../../src/guard/demand.js';

const figures = { limit: 'pids' as const, limitAmount: 300, usage: 250, headroom: { percent: 20 }, keys: 4, instances: 10, perTree: 23 };
const stop = (atMs: number) => ({ atMs, key: 'k', instances: 1, amount: 23 });

describe('demand', () => {
  it('says nothing after one forced stop: a single stop is not steady demand', () => {
    const state = recordForced(EMPTY_DEMAND, [stop(0)], 0);
    expect(judgeDemand(state, { ...figures, usage: 290 }, 0)).toMatchObject({ newEpisode: false });
    expect(judgeDemand(state, { ...figures, usage: 290 }, 0).exceeded).toBeUndefined();
  });

  it('says nothing of a burst of forced stops: steady demand lasts', () => {
    const state = recordForced(EMPTY_DEMAND, [stop(0), stop(100), stop(200)], 200);
    expect(judgeDemand(state, figures, 200).exceeded).toBeUndefined();
  });

  it('says once that the demand exceeds the limit, with the limit that would fit', () => {
    let state = recordForced(EMPTY_DEMAND, [stop(0), stop(5000), stop(10_000)], 10_000);
    const first = judgeDemand(state, figures, 10_000);
    // 250 + 3 × 23 = 319 ≥ 300; at 20% headroom 319 / 0.8 → 399.
    expect(first).toMatchObject({ newEpisode: true, exceeded: { demand: 319, needed: 399, forcedStops: 3, instances: 13, keys: 4, perTree: 23 } });
    state = first.state;
    const again = judgeDemand(recordForced(state, [stop(11_000)], 11_000), figures, 11_000);
    expect(again.newEpisode).toBe(false);
    expect(again.exceeded?.forcedStops).toBe(4);
  });

  it('keeps the episode while stops are forced, and ends it after five quiet minutes', () => {
    const said = judgeDemand(recordForced(EMPTY_DEMAND, [stop(0), stop(5000), stop(10_000)], 10_000), figures, 10_000).state;
    const later = judgeDemand(said, figures, 10_000 + DEMAND_WINDOW_MS);
    expect(later.exceeded).toBeDefined();
    const over = judgeDemand(later.state, figures, 10_000 + 5 * 60_000);
    expect(over.exceeded).toBeUndefined();
    expect(over.state.saidAtMs).toBeUndefined();
  });

  it('does not count what stayed under the limit', () => {
    const state = recordForced(EMPTY_DEMAND, [stop(0), stop(1000)], 1000);
    expect(judgeDemand(state, { ...figures, usage: 200 }, 1000).exceeded).toBeUndefined();
  });

  it('says so too when the guard was held back past the critical mark, with the limit at least', () => {
    const held = (atMs: number) => ({ atMs, key: '', instances: 0, amount: 0, heldBack: true });
    const state = recordForced(EMPTY_DEMAND, [held(0), held(5000), held(10_000)], 10_000);
    // 250 is under the limit, but the app presses on it and the guard may stop nothing: at least 300 / 0.8.
    expect(judgeDemand(state, figures, 10_000)).toMatchObject({ newEpisode: true, exceeded: { needed: 375, forcedStops: 0 } });
    // What the starts held back would take, grown, is the app's demand too: 250 + 5 × 22 = 360, / 0.8 → 450.
    expect(judgeDemand(state, { ...figures, waiting: 110 }, 10_000)).toMatchObject({ exceeded: { demand: 360, waiting: 110, needed: 450 } });
  });
});
