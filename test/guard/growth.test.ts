import { describe, expect, it } from 'vitest';
import { addReading, GROWTH_WINDOW_MS, growthPerSecond, type Reading } from '../../src/guard/growth.js';

describe('growthPerSecond', () => {
  it('is the growth from the oldest reading of the window to the newest, per second', () => {
    let readings: Reading[] = [];
    for (let t = 0; t <= 5000; t += 100) readings = addReading(readings, { atMs: t, value: t / 10 });
    expect(readings[0]!.atMs).toBeGreaterThanOrEqual(5000 - GROWTH_WINDOW_MS);
    expect(growthPerSecond(readings)).toBeCloseTo(100);
  });

  it('is 0 when usage fell, and when the readings are too close together', () => {
    expect(
      growthPerSecond([
        { atMs: 0, value: 100 },
        { atMs: 1000, value: 50 },
      ]),
    ).toBe(0);
    expect(
      growthPerSecond([
        { atMs: 0, value: 0 },
        { atMs: 100, value: 50 },
      ]),
    ).toBe(0);
    expect(growthPerSecond([])).toBe(0);
  });
});
