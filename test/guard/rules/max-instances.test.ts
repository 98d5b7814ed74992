import { describe, expect, it } from 'vitest';
import { knowKey, pkgA, pkgB, runScans, trees } from '../../helpers/scans.js';
import { GuardModel, makeConfig } from '../../helpers/snapshots.js';

describe('trimToMaxInstances', () => {
  it('applies the total cap to idle instances of quiet keys, one per key at a time', () => {
    const model = new GuardModel(makeConfig({ maxInstances: 2, idleAfterMs: 30_000, appToleratesCrashes: true }));
    const procs = [...trees(2, pkgA, 100), ...trees(2, pkgB, 500)];
    expect(runScans(model, procs, 20_000, 60_000).stops).toEqual([
      [100, 'max-instances'],
      [500, 'max-instances'],
    ]);
  });

  it('stops only what costs the app nothing unless it tolerates crashes', () => {
    const model = new GuardModel(makeConfig({ maxInstances: 2, idleAfterMs: 30_000 }));
    knowKey(model, pkgB, { interrupt: 'clean' });
    const procs = [...trees(2, pkgA, 100), ...trees(2, pkgB, 500)];
    // A's stops would be crashes; B's go, but not its youngest, the pool's likely idle spare.
    expect(runScans(model, procs, 20_000, 60_000).stops).toEqual([[500, 'max-instances']]);
  });
});
