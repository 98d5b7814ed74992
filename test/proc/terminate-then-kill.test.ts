import { describe, expect, it } from 'vitest';
import { type Grace, graceOf, type StopTarget, terminateThenKill } from '../../src/proc/terminate-then-kill.js';

/** A set of fake processes: each leaves on the signal it obeys, after `lingerPolls` looks. */
function fakeTarget(procs: { obeys: 'SIGTERM' | 'SIGKILL' | 'nothing'; refused?: boolean }[], lingerPolls = 0) {
  const state = procs.map((proc) => ({ ...proc, got: new Set<string>(), leavesIn: Number.POSITIVE_INFINITY }));
  const signals: string[] = [];
  const target: StopTarget = {
    left: () => {
      for (const proc of state) proc.leavesIn -= 1;
      return state.filter((proc) => proc.leavesIn > 0).length;
    },
    signal: (signal) => {
      const outcome = { sent: 0, failed: 0 };
      for (const proc of state) {
        if (proc.leavesIn <= 0 || proc.got.has(signal)) continue;
        proc.got.add(signal);
        if (proc.refused) {
          outcome.failed += 1;
          continue;
        }
        outcome.sent += 1;
        signals.push(signal);
        if (proc.obeys === signal || signal === 'SIGKILL') proc.leavesIn = Math.min(proc.leavesIn, lingerPolls + 1);
      }
      return outcome;
    },
  };
  return { target, signals };
}

describe('terminateThenKill', () => {
  it('sends TERM once to each, and no KILL when all go within the grace', async () => {
    const { target, signals } = fakeTarget([{ obeys: 'SIGTERM' }, { obeys: 'SIGTERM' }], 2);
    expect(await terminateThenKill(target, { grace: graceOf(5000), killWaitMs: 1000, pollMs: 1 })).toEqual({ termed: 2, killed: 0, failed: 0, left: 0 });
    expect(signals).toEqual(['SIGTERM', 'SIGTERM']);
  });

  it('sends KILL to what is left once the grace is over', async () => {
    const { target } = fakeTarget([{ obeys: 'SIGTERM' }, { obeys: 'SIGKILL' }]);
    const startedAt = Date.now();
    const result = await terminateThenKill(target, { grace: graceOf(40), killWaitMs: 1000, pollMs: 5 });
    expect(result).toEqual({ termed: 2, killed: 1, failed: 0, left: 0 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(40);
  });

  it('gives up after the KILL wait and says how many are left', async () => {
    const { target } = fakeTarget([{ obeys: 'nothing' }], Number.POSITIVE_INFINITY);
    const result = await terminateThenKill(target, { grace: graceOf(0), killWaitMs: 30, pollMs: 5 });
    expect(result).toEqual({ termed: 0, killed: 1, failed: 0, left: 1 });
  });

  it('with giveUpIfRefused, returns at once when the first TERM was refused everywhere', async () => {
    const { target } = fakeTarget([{ obeys: 'SIGTERM', refused: true }]);
    const startedAt = Date.now();
    expect(await terminateThenKill(target, { grace: graceOf(5000), killWaitMs: 5000, pollMs: 5, giveUpIfRefused: true })).toEqual({
      termed: 0,
      killed: 0,
      failed: 1,
      left: 1,
    });
    expect(Date.now() - startedAt).toBeLessThan(1000);
  });

  it('wakes when a shared grace is cut short, not at the next poll', async () => {
    let over = false;
    let cut!: () => void;
    const grace: Grace = { isOver: () => over, reached: new Promise<void>((resolve) => (cut = resolve)) };
    const { target, signals } = fakeTarget([{ obeys: 'SIGKILL' }]);
    const stopping = terminateThenKill(target, { grace, killWaitMs: 5000, pollMs: 2000 });
    setTimeout(() => {
      over = true;
      cut();
    }, 20);
    const startedAt = Date.now();
    expect(await stopping).toEqual({ termed: 1, killed: 1, failed: 0, left: 0 });
    expect(signals).toEqual(['SIGTERM', 'SIGKILL']);
    // The KILL went at 20 ms, not at the first poll (2 s); its look one poll later: about 2 s, not 4.
    expect(Date.now() - startedAt).toBeLessThan(3500);
  });
});
