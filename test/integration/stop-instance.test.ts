import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { stopInstance } from '../../src/guard/stop-instance.js';
import { readAllStats } from '../../src/proc/read-proc.js';
import { signalProc } from '../../src/proc/signal-proc.js';
import type { ProcStat } from '../../src/proc/snapshot.js';
import { refOfSpawned } from '../helpers/procs.js';
import { makeInstance } from '../helpers/snapshots.js';
import { waitFor } from '../helpers/wait-for.js';

// The groups this file started (each a session of its own): whatever is left in them goes.
const groups: number[] = [];
const inGroup = (pgid: number): ProcStat[] => [...readAllStats().values()].filter((p) => p.pgid === pgid && p.state !== 'Z');
afterEach(() => {
  for (const pgid of groups.splice(0)) for (const proc of inGroup(pgid)) signalProc(proc, 'SIGKILL');
});

describe('stopInstance', () => {
  it('also stops what the launcher started after the TERM: a member the scan never saw', async () => {
    // A launcher that, told to stop, starts one more process in its group and exits, as
    // `npm exec` does when the TERM comes while it spawns its server.
    const launcher = spawn('sh', ['-c', 'trap "sleep 1000 & exit 0" TERM; while :; do sleep 0.05; done'], { detached: true, stdio: 'ignore' });
    const ref = refOfSpawned(launcher)!;
    groups.push(ref.pid);
    const stat = await waitFor(() => readAllStats().get(ref.pid), { what: 'the launcher' });
    const instance = makeInstance([{ ...stat, argv: ['sh'] }], { pgid: ref.pid });

    const result = await stopInstance(instance, { method: 'terminate', graceMs: 2000, pollMs: 20 });
    expect(inGroup(ref.pid)).toEqual([]);
    // The scan's member and the late sleep both got TERM.
    expect(result.termed).toBeGreaterThanOrEqual(2);
    expect(result.left).toBe(0);
  });
});
