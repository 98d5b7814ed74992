import { describe, expect, it } from 'vitest';
import {
  AFTERMATH_MS,
  ANSWER_WAIT_MS,
  costOfStop,
  type KeyRecord,
  markAmidCrashes,
  methodFor,
  observeAftermaths,
  recordStopEnded,
  UNKNOWN_KEY,
} from '../../src/guard/key-learning.js';
import type { StopCost, StopMethod } from '../../src/guard/stops.js';

type StopAmid = { key: string; method: StopMethod; cost: StopCost; amidCrash?: boolean };

const KEY = 'npm exec @modelcontextprotocol/server-a';
const SIBLINGS = [
  { id: 's1', tasks: 23, rssBytes: 1 },
  { id: 's2', tasks: 23, rssBytes: 1 },
];

function afterStop(method: 'interrupt' | 'terminate', endedBy: 'interrupt' | 'terminate' | 'kill', siblings = SIBLINGS): Map<string, KeyRecord> {
  return new Map([[KEY, recordStopEnded(UNKNOWN_KEY, { method, endedBy, siblings }, 1000)]]);
}

describe('key learning', () => {
  it('learns that SIGINT ends a key cleanly when the app keeps its other instances', () => {
    const records = afterStop('interrupt', 'interrupt');
    expect(observeAftermaths(records, new Set(['s1', 's2']), new Set(), 1000 + AFTERMATH_MS - 1).lessons).toEqual([]);
    const { records: learnt, lessons } = observeAftermaths(records, new Set(['s1', 's2']), new Set(), 1000 + AFTERMATH_MS);
    expect(learnt.get(KEY)).toEqual({ interrupt: 'clean' });
    expect(lessons).toMatchObject([{ key: KEY, closedAll: false, siblings: 2, kept: 2 }]);
    expect(costOfStop(learnt.get(KEY))).toBe('clean');
    expect(methodFor(learnt.get(KEY))).toBe('interrupt');
  });

  it('learns that SIGINT is a crash to the app, and that a crash frees the key, when the app closes them all', () => {
    const { records, lessons } = observeAftermaths(afterStop('interrupt', 'interrupt'), new Set(), new Set(), 1500);
    expect(records.get(KEY)).toEqual({ interrupt: 'crash', crashFreesKey: true });
    expect(lessons[0]).toMatchObject({ closedAll: true, closed: SIBLINGS });
    expect(costOfStop(records.get(KEY))).toBe('crash');
    expect(methodFor(records.get(KEY))).toBe('terminate');
  });

  it('learns that a crash does not free the key when the app keeps the others after a TERM', () => {
    const { records } = observeAftermaths(afterStop('terminate', 'terminate'), new Set(['s2']), new Set(), 1000 + AFTERMATH_MS);
    expect(records.get(KEY)).toEqual({ interrupt: 'unknown', crashFreesKey: false });
  });

  it('calls SIGINT ignored when a TERM had to follow it, and does not try it again', () => {
    const record = recordStopEnded(UNKNOWN_KEY, { method: 'interrupt', endedBy: 'terminate', siblings: [] }, 1000);
    expect(record).toEqual({ interrupt: 'ignored' });
    expect(methodFor(record)).toBe('terminate');
  });

  it('keeps a crash verdict: one is enough to know', () => {
    const crashed = new Map([
      [KEY, recordStopEnded({ interrupt: 'crash', crashFreesKey: true }, { method: 'interrupt', endedBy: 'interrupt', siblings: SIBLINGS }, 1000)],
    ]);
    expect(observeAftermaths(crashed, new Set(['s1']), new Set(), 1000 + AFTERMATH_MS).records.get(KEY)!.interrupt).toBe('crash');
  });

  it("leaves out siblings the guard stopped itself: their going is not the app's answer", () => {
    const { records, lessons } = observeAftermaths(afterStop('interrupt', 'interrupt'), new Set(), new Set(['s1', 's2']), 1500);
    expect(lessons).toEqual([]);
    expect(records.get(KEY)).toEqual({ interrupt: 'unknown' });
  });
});

describe('key learning under a run of stops', () => {
  it('keeps watching the first stop while later ones end: the answer is not pushed back', () => {
    const first = recordStopEnded(UNKNOWN_KEY, { method: 'interrupt', endedBy: 'interrupt', siblings: SIBLINGS }, 1000);
    const second = recordStopEnded(first, { method: 'interrupt', endedBy: 'interrupt', siblings: [{ id: 's3', tasks: 1, rssBytes: 1 }] }, 3000);
    expect(second.aftermath?.endedAtMs).toBe(1000);
    const { records } = observeAftermaths(new Map([[KEY, second]]), new Set(['s1']), new Set(['s2']), 1000 + AFTERMATH_MS);
    expect(records.get(KEY)!.interrupt).toBe('clean');
  });
});

describe('key learning: an app that keeps the others after a crash', () => {
  it('says so after ANSWER_WAIT_MS, not after the whole aftermath: other stops of the key wait for it', () => {
    const records = new Map([[KEY, recordStopEnded(UNKNOWN_KEY, { method: 'terminate', endedBy: 'terminate', siblings: SIBLINGS }, 1000)]]);
    expect(observeAftermaths(records, new Set(['s1', 's2']), new Set(), 1000 + ANSWER_WAIT_MS - 1).lessons).toEqual([]);
    const { records: learnt } = observeAftermaths(records, new Set(['s1']), new Set(), 1000 + ANSWER_WAIT_MS);
    expect(learnt.get(KEY)).toEqual({ interrupt: 'unknown', crashFreesKey: false });
  });
});

describe('key learning: what an interrupt was charged', () => {
  it('carries whether the stop was spent as a crash into its lesson', () => {
    const clean: KeyRecord = { interrupt: 'clean' };
    const stopped = recordStopEnded(clean, { method: 'interrupt', endedBy: 'interrupt', siblings: SIBLINGS, charged: false }, 1000);
    const { records, lessons } = observeAftermaths(new Map([[KEY, stopped]]), new Set(), new Set(), 1500);
    expect(lessons[0]).toMatchObject({ charged: false, closedAll: true });
    expect(records.get(KEY)).toEqual({ interrupt: 'crash', crashFreesKey: true });
    // Not said: a stop of a key not known to be clean was spent as one.
    expect(recordStopEnded(UNKNOWN_KEY, { method: 'interrupt', endedBy: 'interrupt', siblings: SIBLINGS }, 1000).aftermath?.charged).toBe(true);
  });

  it('leaves no aftermath of an interrupt that did not end the tree, and calls the key ignored', () => {
    const record = recordStopEnded({ interrupt: 'clean' }, { method: 'interrupt', endedBy: 'survived', siblings: SIBLINGS, charged: false }, 1000);
    expect(record).toEqual({ interrupt: 'ignored' });
    expect(costOfStop(record)).toBe('crash');
  });

  it('closes the stdin of an instance whose stdin can be closed before any signal, learns from the app whether it counts that exit, and stops closing if it does', () => {
    expect(methodFor(UNKNOWN_KEY, true)).toBe('close-stdin');
    expect(costOfStop(UNKNOWN_KEY, true)).toBe('clean');
    // Where the stdin cannot be closed: as before, SIGINT first, a crash until seen clean.
    expect(methodFor(UNKNOWN_KEY, false)).toBe('interrupt');
    expect(costOfStop(UNKNOWN_KEY, false)).toBe('crash');
    const records = new Map([[KEY, recordStopEnded(UNKNOWN_KEY, { method: 'close-stdin', endedBy: 'close-stdin', siblings: SIBLINGS, charged: false }, 1000)]]);
    const kept = observeAftermaths(records, new Set(['s1', 's2']), new Set(), 1000 + AFTERMATH_MS);
    expect(kept.records.get(KEY)).toEqual({ interrupt: 'unknown', stdinClose: 'clean' });
    expect(kept.lessons).toMatchObject([{ endedBy: 'close-stdin', closedAll: false, charged: false }]);
    // An app that closed the key's other instances after the exit 0 counted it: no more closes.
    const closed = observeAftermaths(records, new Set(), new Set(), 1500).records.get(KEY)!;
    expect(closed).toEqual({ interrupt: 'unknown', stdinClose: 'crash', crashFreesKey: true });
    expect(methodFor(closed, true)).toBe('interrupt');
    expect(costOfStop(closed, true)).toBe('crash');
  });

  it('stops closing the stdin of a key whose server ran on after EOF, but not for a close that could not be made', () => {
    const record = recordStopEnded(UNKNOWN_KEY, { method: 'close-stdin', endedBy: 'survived', siblings: SIBLINGS, charged: false }, 1000);
    expect(record).toEqual({ interrupt: 'unknown', stdinClose: 'ignored' });
    expect(methodFor(record, true)).toBe('interrupt');
    // A pipe, a socket the app shares, a refusal: nothing of the key.
    const unmade = recordStopEnded(UNKNOWN_KEY, { method: 'close-stdin', endedBy: 'survived', siblings: SIBLINGS, unmade: true }, 1000);
    expect(unmade).toEqual(UNKNOWN_KEY);
    expect(methodFor(unmade, true)).toBe('close-stdin');
    const termed = recordStopEnded(UNKNOWN_KEY, { method: 'close-stdin', endedBy: 'terminate', siblings: [], charged: false }, 1000);
    expect(termed.stdinClose).toBe('ignored');
  });
});

describe('key learning: stops that cannot answer for themselves', () => {
  it('learns nothing of a stop whose tree had gone before any signal reached it', () => {
    const known: KeyRecord = { interrupt: 'clean' };
    expect(recordStopEnded(known, { method: 'close-stdin', endedBy: 'gone', siblings: SIBLINGS }, 1000)).toBe(known);
    expect(recordStopEnded(known, { method: 'interrupt', endedBy: 'gone', siblings: SIBLINGS }, 1000)).toBe(known);
  });

  it('reads neither the ending of a stop made beside a TERM of its key, nor the app closing them all after it', () => {
    // The app closed the tree after the TERM's crash: a TERM that followed the request found it going.
    const fellBack = recordStopEnded(UNKNOWN_KEY, { method: 'close-stdin', endedBy: 'terminate', siblings: SIBLINGS, amidCrash: true }, 1000);
    expect(fellBack.stdinClose).toBeUndefined();
    const record = recordStopEnded(UNKNOWN_KEY, { method: 'close-stdin', endedBy: 'close-stdin', siblings: SIBLINGS, amidCrash: true }, 1000);
    const { records, lessons } = observeAftermaths(new Map([[KEY, record]]), new Set(), new Set(), 1500);
    expect(lessons).toEqual([]);
    expect(records.get(KEY)).toEqual({ interrupt: 'unknown' });
    expect(costOfStop(records.get(KEY), true)).toBe('clean');
  });

  it('still reads the others kept after a stop made beside a TERM of its key: that SIGINT was clean', () => {
    const record = recordStopEnded(UNKNOWN_KEY, { method: 'interrupt', endedBy: 'interrupt', siblings: SIBLINGS, charged: true, amidCrash: true }, 1000);
    const { records, lessons } = observeAftermaths(new Map([[KEY, record]]), new Set(['s1', 's2']), new Set(), 1000 + AFTERMATH_MS);
    expect(records.get(KEY)?.interrupt).toBe('clean');
    expect(lessons).toMatchObject([{ charged: true, closedAll: false }]);
  });

  it('marks the aftermath of a clean stop once a TERM of its key is planned, and leaves a TERM aftermath alone', () => {
    const clean = new Map([[KEY, recordStopEnded(UNKNOWN_KEY, { method: 'close-stdin', endedBy: 'close-stdin', siblings: SIBLINGS }, 1000)]]);
    const termOf = (key: string) => new Map<string, StopAmid>([['term', { key, method: 'terminate', cost: 'crash' }]]);
    const marked = markAmidCrashes(termOf(KEY), clean, 1100).records;
    expect(marked.get(KEY)?.aftermath?.amidCrash).toBe(true);
    expect(observeAftermaths(marked, new Set(), new Set(), 1500).lessons).toEqual([]);
    expect(markAmidCrashes(termOf('another key'), clean, 1100).records).toBe(clean);
    const crash = afterStop('terminate', 'terminate');
    expect(markAmidCrashes(termOf(KEY), crash, 1100).records).toBe(crash);
  });

  it('marks the exit requests and interrupts under way with a TERM of their key, and nothing else', () => {
    const underWay = new Map([
      ['close-a', { key: 'a', method: 'close-stdin' as const, cost: 'clean' as const }],
      ['term-a', { key: 'a', method: 'terminate' as const, cost: 'crash' as const }],
      ['interrupt-a', { key: 'a', method: 'interrupt' as const, cost: 'crash' as const }],
      ['close-b', { key: 'b', method: 'close-stdin' as const, cost: 'clean' as const }],
      // An orphan's TERM is nobody's crash.
      ['orphan-b', { key: 'b', method: 'terminate' as const, cost: 'free' as const }],
    ]);
    const marked = markAmidCrashes(underWay, new Map(), 5000).underWay;
    expect([...marked].filter(([, stop]) => 'amidCrash' in stop).map(([id]) => id)).toEqual(['close-a', 'interrupt-a']);
  });

  it('marks an exit request made while the app may still be answering a TERM of its key that ended', () => {
    // A TERM of the key ended at 1000: MetaMCP closes the rest a few hundred ms after.
    const records = afterStop('terminate', 'terminate');
    const at = (nowMs: number) => {
      const underWay = new Map<string, StopAmid>([['close-a', { key: KEY, method: 'close-stdin', cost: 'clean' }]]);
      return markAmidCrashes(underWay, records, nowMs).underWay.get('close-a')?.amidCrash === true;
    };
    expect(at(1000 + ANSWER_WAIT_MS - 1)).toBe(true);
    expect(at(1000 + ANSWER_WAIT_MS)).toBe(false);
    // After a clean stop's end there is no crash to answer.
    const underWay = new Map<string, StopAmid>([['close-a', { key: KEY, method: 'close-stdin', cost: 'clean' }]]);
    expect(markAmidCrashes(underWay, afterStop('interrupt', 'interrupt'), 1100).underWay.get('close-a')?.amidCrash).toBeUndefined();
  });
});
