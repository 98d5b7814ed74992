import { describe, expect, it } from 'vitest';
import { forwardSignal } from '../../src/init/forward-signals.js';
import { isSpawnFailure, type MainChild, spawnChild } from '../../src/init/spawn-child.js';
import { spawnWithPid } from '../helpers/reuse-pid.js';
import { FIXTURES, rootTestsEnabled } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

describe.runIf(rootTestsEnabled())('forwardSignal', () => {
  it('never signals the main child once it has exited, even when a new process has its pid', async () => {
    const child = (await spawnChild(['true'])) as MainChild;
    expect(isSpawnFailure(child)).toBe(false);
    await child.exited;
    const victim = spawnWithPid(child.pid, [process.execPath, `${FIXTURES}print-signals.js`]);
    expect(victim, `no new process could take pid ${child.pid}`).toBeDefined();
    try {
      let out = '';
      victim!.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      await waitFor(() => out.includes('ready'), { what: 'the new process to be ready' });
      for (const group of [false, true]) expect(forwardSignal(child, 'SIGUSR1', group)).toBe('gone');
      // USR1 would be delivered before USR2 (lower signals first): once USR2 shows, USR1 never came.
      process.kill(victim!.pid!, 'SIGUSR2');
      await waitFor(() => out.includes('SIGUSR2'), { what: 'SIGUSR2 to reach the new process' });
      expect(out).not.toContain('SIGUSR1');
    } finally {
      victim!.kill('SIGKILL');
    }
  });

  it('signals the main child while it runs', async () => {
    const child = (await spawnChild(['sleep', '30'])) as MainChild;
    expect(forwardSignal(child, 'SIGTERM', false)).toBe('sent');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(forwardSignal(child, 'SIGTERM', false)).toBe('gone');
  });
});
