import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasCloseSignalPending, readStat } from '../../src/proc/read-proc.js';
import { isAlive, killTree, refOfSpawned } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait-for.js';

// What the guard reads of a tree it holds: a stopped process acts on no TERM until it goes on,
// and /proc/PID/status shows the TERM waiting (how MetaMCP's close reaches a held tree).
describe('hasCloseSignalPending', () => {
  it('sees a TERM sent to a stopped process, which acts on it once it goes on', async () => {
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const ref = refOfSpawned(child)!;
    try {
      process.kill(ref.pid, 'SIGSTOP');
      await waitFor(() => readStat(ref.pid)?.state === 'T', { what: 'the process to stop' });
      expect(hasCloseSignalPending(ref.pid)).toBe(false);
      process.kill(ref.pid, 'SIGTERM');
      await waitFor(() => hasCloseSignalPending(ref.pid), { what: 'the TERM to show as pending' });
      expect(isAlive(ref)).toBe(true);
      process.kill(ref.pid, 'SIGCONT');
      await waitFor(() => !isAlive(ref), { what: 'the process to act on its TERM' });
    } finally {
      killTree(ref);
    }
  });

  it('is false for a pid that is gone', () => {
    expect(hasCloseSignalPending(2 ** 22 + 1)).toBe(false);
  });
});
