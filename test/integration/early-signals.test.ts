import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readChildPids } from '../../src/proc/read-proc.js';
import type { ProcRef } from '../../src/proc/snapshot.js';
import { killTree, refOfSpawned } from '../helpers/procs.js';
import { BUNDLE, rootTestsEnabled } from '../helpers/start-init.js';

const SIGUSR2_BIT = 1n << 11n;
const spawned: ProcRef[] = [];
afterEach(() => {
  for (const ref of spawned.splice(0)) killTree(ref);
});

/** Whether the process has a handler for USR2, one of the signals the init forwards (/proc/PID/status SigCgt). */
function catchesForwardedSignals(pid: number): boolean {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  return (BigInt(`0x${/SigCgt:\s*(\w+)/.exec(status)![1]}`) & SIGUSR2_BIT) !== 0n;
}

/**
 * Starts the init as PID 1 and sends it TERM at the first moment it catches signals, if
 * its main child does not exist yet. Busy-polls /proc (a few ms at most per attempt) to
 * catch that moment; returns undefined when the child was already there (a slow poll).
 */
async function termBeforeChild(): Promise<{ code: number | null; stderr: string } | undefined> {
  const run = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, BUNDLE, '--log-format', 'json', '--guard-off', '--', 'sleep', '60'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ref = refOfSpawned(run);
  if (ref) spawned.push(ref);
  let stderr = '';
  run.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => run.once('close', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  let sent: boolean | undefined;
  while (sent === undefined && Date.now() < deadline) {
    try {
      const init = readChildPids(run.pid!)?.[0];
      if (init === undefined || !catchesForwardedSignals(init)) continue;
      const hasChild = (readChildPids(init) ?? []).length > 0;
      if (!hasChild) process.kill(init, 'SIGTERM');
      sent = !hasChild;
    } catch {
      // Between fork and exec, or exiting: look again.
    }
  }
  if (!sent) {
    if (ref) killTree(ref);
    await exited;
    return undefined;
  }
  return { code: await exited, stderr };
}

describe.runIf(rootTestsEnabled())('signals in the first moments, as PID 1', () => {
  // As PID 1 a signal without a handler is dropped: the init used to catch signals only once its
  // child ran, so a TERM in its first 0.3 s was lost and it ran on for the child's whole life.
  it('holds a TERM that arrives before the child exists and shuts down with it', async () => {
    let result: Awaited<ReturnType<typeof termBeforeChild>>;
    for (let attempt = 0; attempt < 5 && !result; attempt++) result = await termBeforeChild();
    expect(result, 'the init never caught signals before its child existed').toBeDefined();
    // sleep dies of the forwarded TERM: 128 + 15.
    expect(result!.code).toBe(143);
    expect(result!.stderr).toContain('shutting down: grace period started');
  });
});
