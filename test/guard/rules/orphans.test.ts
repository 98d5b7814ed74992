import { describe, expect, it } from 'vitest';
import { pkgA, used } from '../../helpers/scans.js';
import { GuardModel, INIT_PID, makeNpmTree } from '../../helpers/snapshots.js';

describe('stopOrphans', () => {
  it('stops an orphan only once it has been one for the orphan grace, busy or not, by TERM', () => {
    const model = new GuardModel();
    model.scan(makeNpmTree(100, { pkg: pkgA }), { nowMs: 20_000 });
    const [, sh, server] = makeNpmTree(100, { pkg: pkgA });
    let orphaned = [{ ...sh!, ppid: INIT_PID }, server!];
    expect(model.scan(orphaned, { nowMs: 21_000 }).stops).toEqual([]);
    orphaned = used(orphaned);
    expect(model.scan(orphaned, { nowMs: 30_999 }).stops).toEqual([]);
    const late = model.scan(orphaned, { nowMs: 31_000 });
    expect(late.stops.map((s) => [s.instance.id, s.reason, s.method, s.evidence.cost])).toEqual([['100:100', 'orphan', 'terminate', 'free']]);
  });
});
