import { describe, expect, it } from 'vitest';
import { HOLD_MAX_MS } from '../../../src/guard/rules/hold-starting.js';
import type { StepResult } from '../../../src/guard/step.js';
import type { ProcInfo } from '../../../src/proc/snapshot.js';
import { pkgA, scanUntil, trees } from '../../helpers/scans.js';
import { GuardModel, makeConfig, makeNpmTree, pidsAt } from '../../helpers/snapshots.js';

// 200 max, 20%: high 160. Launchers that have not started their servers are starting trees;
// no tree of the key was seen grown, so none is projected to grow and no stop is needed.
const launchers = (pids: readonly number[]): ProcInfo[] => pids.map((pid) => makeNpmTree(pid, { pkg: pkgA, startTicks: 2900 + pid / 10 })[0]!);
const SIX = [300, 310, 320, 330, 340, 350];
const held = (result: StepResult) => result.hold.map((i) => i.launcher.pid);
const released = (result: StepResult) => result.release.map(({ instance, why }) => [instance.launcher.pid, why]);

function pressedModel(options: { maxStarting?: number; dryRun?: boolean } = {}) {
  return new GuardModel(makeConfig({ maxStarting: options.maxStarting ?? 2 }), { dryRun: options.dryRun ?? false });
}

describe('planHolds: starting trees held back while a limit is near', () => {
  it('holds the youngest beyond --max-starting, and none below the high mark', () => {
    const calm = pressedModel();
    expect(held(calm.scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(159) }))).toEqual([]);
    const model = pressedModel();
    const result = model.scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(165) });
    expect(held(result)).toEqual([350, 340, 330, 320]);
    expect(result.stops).toEqual([]);
    // Held already: not held twice.
    expect(held(model.scan(launchers(SIX), { nowMs: 30_100, cgroup: pidsAt(165) }))).toEqual([]);
  });

  it('holds, too, the starts that, grown, would reach the limit, so that the kernel refuses none of their forks', () => {
    // A tree of A was seen at 23 tasks: each launcher (11) will grow by 12. No crash may be spent.
    const model = new GuardModel(makeConfig({ maxStarting: 4 }), { crashBudget: 0 });
    scanUntil(model, trees(1, pkgA, 100), 20_000, 21_000);
    const result = model.scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(165) });
    expect(result.stops).toEqual([]);
    // 165 + 12 + 12 = 189: two run; a third would reach 201: the rest wait, though 4 may start at once.
    expect(held(result)).toEqual([350, 340, 330, 320]);
  });

  it('after HOLD_MAX_MS lets a held tree go on only once, grown, it fits under the limit: let go into a full limit, it would abort', () => {
    // Each launcher will grow by 12 (a tree of A was seen at 23). Two may start at once: 300 and 310 run.
    const model = new GuardModel(makeConfig({ maxStarting: 2 }), { crashBudget: 0 });
    scanUntil(model, trees(1, pkgA, 100), 20_000, 21_000);
    expect(held(model.scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(165) }))).toEqual([350, 340, 330, 320]);
    // Held long enough, but 165 + 12 + 12 + 12 reaches 201: 320 waits on.
    expect(released(model.scan(launchers(SIX), { nowMs: 30_000 + HOLD_MAX_MS, cgroup: pidsAt(165) }))).toEqual([]);
    // At 160 it fits (196), though the two places among the starts are still taken: 320 goes on, and 330 (208) waits.
    expect(released(model.scan(launchers(SIX), { nowMs: 31_000 + HOLD_MAX_MS, cgroup: pidsAt(160) }))).toEqual([[320, 'held-long']]);
  });

  it('lets the oldest held go on as the running ones start or go', () => {
    const model = pressedModel();
    model.scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(165) });
    // 300 is gone and 310 still starts: one place is free, for 320, the oldest held.
    const next = model.scan(launchers(SIX.slice(1)), { nowMs: 30_100, cgroup: pidsAt(165) });
    expect(released(next)).toEqual([[320, 'room']]);
    expect(held(next)).toEqual([]);
  });

  it('lets a held tree go on at once when its app asks it to close, or after HOLD_MAX_MS', () => {
    const model = pressedModel();
    model.scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(165) });
    // The app TERMed 340's group: it can act on that only once it goes on.
    expect(released(model.scan(launchers(SIX), { nowMs: 30_100, cgroup: pidsAt(165), closeAsked: new Set([340]) }))).toEqual([[340, 'close-asked']]);
    const late = model.scan(launchers(SIX), { nowMs: 30_000 + HOLD_MAX_MS, cgroup: pidsAt(165) });
    expect(released(late)).toEqual([
      [320, 'held-long'],
      [330, 'held-long'],
      [350, 'held-long'],
    ]);
    // Once let go, a tree runs to its end: none is held again.
    expect(held(late)).toEqual([]);
    expect(held(model.scan(launchers(SIX), { nowMs: 31_000 + HOLD_MAX_MS, cgroup: pidsAt(165) }))).toEqual([]);
  });

  it('goes on holding while more start than --max-starting, though the limit is no longer near', () => {
    const model = pressedModel();
    model.scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(165) });
    // The limit's stops took usage below the high mark: a herd let go now would starve again.
    const after = model.scan(launchers(SIX), { nowMs: 30_100, cgroup: pidsAt(100) });
    expect(released(after)).toEqual([]);
    // 300 has started: 320 goes on, and so on as places free up, without a limit near.
    const next = model.scan(launchers(SIX.filter((pid) => pid !== 300)), { nowMs: 30_200, cgroup: pidsAt(100) });
    expect(released(next)).toEqual([[320, 'room']]);
    // With none held and no limit near, nothing is held.
    const calm = pressedModel();
    expect(held(calm.scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(100) }))).toEqual([]);
  });

  it('holds nothing in a dry run, nor with --max-starting 0, nor an orphan', () => {
    expect(held(pressedModel({ dryRun: true }).scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(165) }))).toEqual([]);
    expect(held(pressedModel({ maxStarting: 0 }).scan(launchers(SIX), { nowMs: 30_000, cgroup: pidsAt(165) }))).toEqual([]);
    const orphans = launchers(SIX).map((p) => ({ ...p, ppid: 1 }));
    expect(held(pressedModel().scan(orphans, { nowMs: 30_000, cgroup: pidsAt(165) }))).toEqual([]);
  });
});
