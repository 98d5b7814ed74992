import { describe, expect, it } from 'vitest';
import { headroomOf, watermarksOf } from '../../src/guard/headroom.js';

describe('headroomOf', () => {
  it('takes a share of the limit, rounded down to a whole unit', () => {
    expect(headroomOf({ percent: 20 }, 400)).toBe(80);
    expect(headroomOf({ percent: 10 }, 1005)).toBe(100);
  });

  it('takes an amount as it is, whatever the limit', () => {
    expect(headroomOf({ amount: 30 }, 400)).toBe(30);
    expect(headroomOf({ amount: 30 }, 10)).toBe(30);
  });
});

describe('watermarksOf', () => {
  it('puts high at limit - headroom, critical half-way to the limit, low at limit - 1.5 headroom', () => {
    expect(watermarksOf({ percent: 20 }, 400)).toEqual({ limit: 400, high: 320, critical: 360, low: 280 });
  });

  it('rounds critical towards the limit and low away from it when the headroom is odd', () => {
    expect(watermarksOf({ amount: 5 }, 100)).toEqual({ limit: 100, high: 95, critical: 98, low: 92 });
  });

  it('never puts low below zero', () => {
    expect(watermarksOf({ amount: 80 }, 100).low).toBe(0);
  });
});
