import { describe, expect, it } from 'vitest';
import { knowKey, pkgA, pkgB, runScans, trees } from '../../helpers/scans.js';
import { GuardModel, makeConfig } from '../../helpers/snapshots.js';

describe('trimToMaxInstances', () => {
  it('applies the total cap to idle instances of quiet keys, one per key at a time', () => {
    const model = new GuardModel(makeConfig({ maxInstances: 2, idleAfterMs: 30_000, appToleratesCrashes: true }));
    // Known to crash on SIGINT: stopped by TERM, after which the app closes the key itself.
    knowKey(model, pkgA, { interrupt: 'crash' });
    knowKey(model, pkgB, { interrupt: 'crash' });
    const procs = [...trees(2, pkgA, 100), ...trees(2, pkgB, 500)];
    expect(runScans(model, procs, 20_000, 60_000).stops).toEqual([
      [100, 'max-instances'],
      [500, 'max-instances'],
    ]);
  });

  it('stops only what costs the app nothing unless it tolerates crashes', () => {
    const model = new GuardModel(makeConfig({ maxInstances: 2, idleAfterMs: 30_000 }));
    knowKey(model, pkgB, { interrupt: 'clean' });
    const procs = [...trees(2, pkgA, 100), ...trees(3, pkgB, 500)];
    // A's stops would be crashes; B's go, but neither its youngest, the pool's likely idle
    // spare, nor its oldest, the instance shared at a per-server cap.
    expect(runScans(model, procs, 20_000, 60_000).stops).toEqual([[510, 'max-instances']]);
  });
});
