import { describe, expect, it } from 'vitest';
import { settleInterrupts, settleStopEnd } from '../../src/guard/crash-budget.js';
import type { Lesson } from '../../src/guard/key-learning.js';

const KEY = 'npm exec @modelcontextprotocol/server-a';

function lessonOf(charged: boolean, closedAll: boolean, by: 'interrupt' | 'close-stdin' = 'interrupt'): Lesson {
  return {
    key: KEY,
    method: by,
    endedBy: by,
    charged,
    closedAll,
    siblings: 2,
    kept: closedAll ? 0 : 2,
    record: { interrupt: 'unknown' },
    closed: [],
  };
}

describe('crash budget', () => {
  it('gives back an interrupt spent as a crash after which the app kept the others', () => {
    expect(settleInterrupts(new Map([[KEY, 1]]), [lessonOf(true, false)]).get(KEY)).toBe(0);
  });

  it('spends an interrupt expected to be clean after which the app closed them all', () => {
    expect(settleInterrupts(new Map(), [lessonOf(false, true)]).get(KEY)).toBe(1);
  });

  it('spends an exit on request after which the app closed them all, as it does an interrupt', () => {
    expect(settleInterrupts(new Map(), [lessonOf(false, true, 'close-stdin')]).get(KEY)).toBe(1);
    expect(settleInterrupts(new Map(), [lessonOf(false, false, 'close-stdin')]).get(KEY)).toBeUndefined();
  });

  it('changes nothing when the app answered as expected', () => {
    const counts = new Map([[KEY, 1]]);
    expect(settleInterrupts(counts, [lessonOf(true, true), lessonOf(false, false)])).toEqual(counts);
  });

  it('spends a crash for a stop expected to cost nothing that ended by TERM or KILL, not for one left running or an orphan', () => {
    const none = new Map<string, number>();
    expect(settleStopEnd(none, KEY, { charged: false, orphan: false, endedBy: 'terminate' }).get(KEY)).toBe(1);
    expect(settleStopEnd(none, KEY, { charged: false, orphan: false, endedBy: 'kill' }).get(KEY)).toBe(1);
    expect(settleStopEnd(none, KEY, { charged: false, orphan: false, endedBy: 'survived' })).toBe(none);
    expect(settleStopEnd(none, KEY, { charged: false, orphan: false, endedBy: 'close-stdin' })).toBe(none);
    expect(settleStopEnd(none, KEY, { charged: false, orphan: true, endedBy: 'terminate' })).toBe(none);
    expect(settleStopEnd(none, KEY, { charged: true, orphan: false, endedBy: 'terminate' })).toBe(none);
  });

  it('gives back a crash spent on a stop whose tree had gone before any signal: the app or the tree ended it, not the guard', () => {
    const spent = new Map([[KEY, 2]]);
    expect(settleStopEnd(spent, KEY, { charged: true, orphan: false, endedBy: 'gone' }).get(KEY)).toBe(1);
    expect(settleStopEnd(spent, KEY, { charged: false, orphan: false, endedBy: 'gone' })).toBe(spent);
    expect(settleStopEnd(new Map(), KEY, { charged: true, orphan: false, endedBy: 'gone' }).get(KEY)).toBeUndefined();
  });
});
