import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseStat } from '../../src/proc/parse-stat.js';
import { trySignalProc } from '../../src/proc/signal-proc.js';
import { loadLibc } from '../../src/sys/libc.js';
import { FIXTURES, rootTestsEnabled } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

describe.runIf(rootTestsEnabled() && loadLibc().pidfds !== undefined)('signalProc with pidfds', () => {
  // The start-time check alone has a window: the recorded process may exit and its pid be
  // reused between the check and kill(). A fake /proc whose stat is a FIFO holds that window
  // open while a helper swaps the process: the signal must not reach the newcomer.
  it('never signals a new process that took the pid between the check and the signal', async () => {
    const root = mkdtempSync(`${tmpdir()}/fake-proc-`);
    spawnSync('mkfifo', [`${root}/fifo`]);
    const helper = spawn(process.execPath, [`${FIXTURES}swap-pid.js`, `${root}/fifo`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let out = '';
      helper.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const line = await waitFor(() => /^A (\d+) (.*\n)/.exec(out) ?? undefined, { what: 'the recorded process' });
      const recorded = parseStat(line[2]!)!;
      mkdirSync(`${root}/${recorded.pid}`);
      spawnSync('ln', ['-s', `${root}/fifo`, `${root}/${recorded.pid}/stat`]);
      const result = trySignalProc(recorded, 'SIGUSR1', { source: { kind: 'own', root }, pidfds: loadLibc().pidfds });
      const newcomer = Number((await waitFor(() => /B (\d+)/.exec(out) ?? undefined, { timeoutMs: 30_000, what: 'the newcomer' }))[1]);
      expect(newcomer, 'no new process could take the recorded pid').toBe(recorded.pid);
      expect(result).toEqual({ outcome: 'gone' });
      process.kill(newcomer, 'SIGUSR2');
      await waitFor(() => out.includes('SIGUSR2'), { what: 'SIGUSR2 to reach the newcomer' });
      expect(out).not.toContain('SIGUSR1');
      process.kill(newcomer, 'SIGKILL');
    } finally {
      helper.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
